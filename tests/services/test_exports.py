"""Export my data: the archive holds every finished image and a data.json with prompts,
settings, dates, collections, credit ledger and plan history; one export at a time; the
link works for 24 hours, then the archive is removed."""

import json
import zipfile
from datetime import timedelta

import pytest

from imagegen.db import session_scope
from imagegen.errors import ExportInProgress, ExportNotFound
from imagegen.models import DataExport, PlanChange, utcnow
from imagegen.providers.image_storage import LocalImageStorage
from imagegen.services import collections, credits, exports, library
from imagegen.settings import get_settings
from tests.fixtures.images import add_image
from tests.fixtures.users import create_user

pytestmark = [pytest.mark.usefixtures("engine")]


def test_the_archive_holds_images_and_every_record(tmp_path) -> None:
    storage = LocalImageStorage(root=tmp_path / "images")
    sent: list[str] = []
    with session_scope() as db:
        user = create_user(db, name="Grace Hopper")
        fox = add_image(db, user.id, prompt="a red fox in snow", storage=storage, data=b"FOX")
        owl = add_image(db, user.id, prompt="an owl at night", storage=storage, data=b"OWL")
        failed = add_image(db, user.id, prompt="refused prompt", status="failed")
        gone = add_image(db, user.id, prompt="deleted one", storage=storage)
        library.set_favorite(session=db, user_id=user.id, image_ids=[owl.id], favorite=True)
        library.delete_images(session=db, user_id=user.id, image_ids=[gone.id])
        album = collections.create_collection(session=db, user_id=user.id, name="Animals")
        collections.add_images(
            session=db, user_id=user.id, collection_id=album.id, image_ids=[fox.id, owl.id]
        )
        credits.debit(
            session=db,
            user_id=user.id,
            amount=2,
            allowance=credits.plan_allowance(get_settings(), "free_user"),
            reason="generation",
            image_ids=[fox.id, owl.id],
        )
        db.add(PlanChange(user_id=user.id, plan="pro_user"))
        export = exports.request_export(session=db, user_id=user.id, enqueue=sent.append)
        with pytest.raises(ExportInProgress):
            exports.request_export(session=db, user_id=user.id, enqueue=sent.append)
        user_id, export_id = user.id, export.id
    assert sent == [str(export_id)]  # the worker is told after commit

    mails = []
    outcome = exports.build_export(
        session_factory=session_scope,
        export_id=export_id,
        storage=storage,
        data_dir=tmp_path,
        link_hours=24,
        backend_url="https://imagegen.test",
        mail=mails.append,
    )
    assert outcome == "ready"
    # Built once: a redelivered message does nothing.
    assert (
        exports.build_export(
            session_factory=session_scope,
            export_id=export_id,
            storage=storage,
            data_dir=tmp_path,
            link_hours=24,
            backend_url="",
            mail=None,
        )
        == "skipped"
    )

    with session_scope() as db:
        export = exports.get_export(session=db, user_id=user_id, export_id=export_id)
        assert export.status == "ready" and export.image_count == 2
        assert timedelta(hours=23, minutes=59) < export.expires_at - utcnow() <= timedelta(hours=24)
        path = exports.export_folder(tmp_path) / export.file_name
        assert export.size_bytes == path.stat().st_size
        stranger = create_user(db)
        with pytest.raises(ExportNotFound):
            exports.get_export(session=db, user_id=stranger.id, export_id=export_id)

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert {"README.txt", "data.json"} <= set(names)
        data = json.loads(archive.read("data.json"))
        files = {item["prompt"]: item["file"] for item in data["images"]}
        assert archive.read(files["a red fox in snow"]) == b"FOX"
        assert archive.read(files["an owl at night"]) == b"OWL"
        assert len([n for n in names if n.startswith("images/")]) == 2
    assert data["account"]["name"] == "Grace Hopper" and data["account"]["plan"] == "Free"
    by_prompt = {item["prompt"]: item for item in data["images"]}
    assert set(by_prompt) == {
        "a red fox in snow",
        "an owl at night",
        "refused prompt",
    }  # not the deleted one
    owl_item = by_prompt["an owl at night"]
    assert owl_item["favorite"] is True and owl_item["collections"] == ["Animals"]
    assert owl_item["settings"] == {"size": "1024x1024", "quality": "medium", "style": None}
    assert owl_item["created_at"] and owl_item["completed_at"]
    assert (
        by_prompt["refused prompt"]["file"] is None
        and by_prompt["refused prompt"]["status"] == "failed"
    )
    assert (
        data["collections"][0]["name"] == "Animals" and len(data["collections"][0]["images"]) == 2
    )
    assert [row["amount"] for row in data["credit_ledger"]] == [-1, -1]  # one row per image
    assert [row["plan"] for row in data["plan_history"]] == ["Pro"]
    assert str(failed.id) in {item["id"] for item in data["images"]}

    # The emailed link works until it expires; then the archive is removed.
    [mail] = mails
    token = mail.text.split("token=")[1].split()[0]
    assert "https://imagegen.test/api/exports/download?token=" in mail.text
    with session_scope() as db:
        assert exports.export_by_token(session=db, token=token).id == export_id
        assert exports.export_by_token(session=db, token=token + "x") is None
        db.get(DataExport, export_id).expires_at = utcnow() - timedelta(seconds=1)
    with session_scope() as db:
        assert exports.export_by_token(session=db, token=token) is None
        assert exports.expire_exports(session=db, data_dir=tmp_path) >= 1
    assert not path.exists()


def test_archives_of_deleted_accounts_are_removed(tmp_path) -> None:
    storage = LocalImageStorage(root=tmp_path / "images")
    with session_scope() as db:
        user = create_user(db)
        add_image(db, user.id, storage=storage)
        export = exports.request_export(session=db, user_id=user.id, enqueue=lambda _id: None)
        export_id = export.id
    exports.build_export(
        session_factory=session_scope,
        export_id=export_id,
        storage=storage,
        data_dir=tmp_path,
        link_hours=24,
        backend_url="",
        mail=None,
    )
    [path] = exports.export_folder(tmp_path).glob("*.zip")
    with session_scope() as db:
        assert exports.remove_orphans(session=db, data_dir=tmp_path) == 0
        db.delete(db.get(DataExport, export_id))  # the account went, and its rows with it
    with session_scope() as db:
        assert exports.remove_orphans(session=db, data_dir=tmp_path) == 1
    assert not path.exists()
