"""The "Export my data" archive: a zip of every image of the user plus `data.json` (prompts, settings,
dates, collections, credit ledger, plan history), prepared by a worker under
DATA_DIR/exports and downloadable for EXPORT_LINK_HOURS — by its owner signed in, and
through the link emailed when mail is configured (its token is stored hashed).
"""

import functools
import json
import logging
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from imagegen import security
from imagegen.db import after_commit
from imagegen.errors import ExportInProgress, ExportNotFound
from imagegen.models import (
    PLAN_LABELS,
    Collection,
    CollectionImage,
    CreditLedger,
    DataExport,
    Image,
    PlanChange,
    Subscription,
    User,
    utcnow,
)
from imagegen.providers.image_storage import ImageStorage
from imagegen.services import archive
from imagegen.services.accounts import Outgoing

log = logging.getLogger(__name__)

Enqueue = Callable[[str], None]
# A pending export older than this was lost (a worker died): the user may ask again.
PENDING_TIMEOUT = timedelta(hours=1)


def export_folder(data_dir: Path) -> Path:
    """Where archives are kept (web and workers must share it)."""
    return Path(data_dir) / "exports"


def request_export(*, session: Session, user_id: uuid.UUID, enqueue: Enqueue) -> DataExport:
    """Start preparing an export (the worker is told after commit).

    Raises:
        ExportInProgress: one is already being prepared.
    """
    session.execute(select(User.id).where(User.id == user_id).with_for_update())
    pending = session.exec(
        select(DataExport).where(
            DataExport.user_id == user_id,
            DataExport.status == "pending",
            DataExport.created_at > utcnow() - PENDING_TIMEOUT,
        )
    ).first()
    if pending is not None:
        raise ExportInProgress()
    export = DataExport(user_id=user_id)
    session.add(export)
    session.flush()
    export_id = str(export.id)
    after_commit(session, lambda: enqueue(export_id))
    return export


def get_export(*, session: Session, user_id: uuid.UUID, export_id: uuid.UUID | str) -> DataExport:
    """The user's export.

    Raises:
        ExportNotFound: no such export, or someone else's (the same answer).
    """
    try:
        key = export_id if isinstance(export_id, uuid.UUID) else uuid.UUID(export_id)
    except ValueError:
        raise ExportNotFound() from None
    export = session.exec(
        select(DataExport).where(DataExport.id == key, DataExport.user_id == user_id)
    ).first()
    if export is None:
        raise ExportNotFound()
    return export


def latest_export(*, session: Session, user_id: uuid.UUID) -> DataExport | None:
    """The user's most recent export (what the Account page shows)."""
    return session.exec(
        select(DataExport)
        .where(DataExport.user_id == user_id)
        .order_by(col(DataExport.created_at).desc())
        .limit(1)
    ).first()


def downloadable(export: DataExport) -> bool:
    """Ready and not expired."""
    return (
        export.status == "ready"
        and export.file_name is not None
        and export.expires_at is not None
        and export.expires_at > utcnow()
    )


def export_by_token(*, session: Session, token: str) -> DataExport | None:
    """The export an emailed link points at, while it can be downloaded."""
    if not token or len(token) > 128:
        return None
    export = session.exec(
        select(DataExport).where(DataExport.token_hash == security.hash_token(token))
    ).first()
    return export if export is not None and downloadable(export) else None


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def export_document(*, session: Session, user: User) -> tuple[dict[str, Any], list[Image]]:
    """Everything of the user's that goes into `data.json`, and the images whose files go in
    the archive (deleted images are left out).
    """
    images = list(
        session.exec(
            select(Image)
            .where(Image.user_id == user.id, col(Image.deleted_at).is_(None))
            .order_by(col(Image.created_at))
        )
    )
    collections = list(
        session.exec(
            select(Collection).where(Collection.user_id == user.id).order_by(Collection.name)
        )
    )
    members: dict[uuid.UUID, list[uuid.UUID]] = {}
    for collection_id, image_id in session.exec(
        select(CollectionImage.collection_id, CollectionImage.image_id).where(
            col(CollectionImage.collection_id).in_([c.id for c in collections])
        )
    ):
        members.setdefault(collection_id, []).append(image_id)
    names = {c.id: c.name for c in collections}
    in_collections: dict[uuid.UUID, list[str]] = {}
    for collection_id, image_ids in members.items():
        for image_id in image_ids:
            in_collections.setdefault(image_id, []).append(names[collection_id])
    ledger = session.exec(
        select(CreditLedger)
        .where(CreditLedger.user_id == user.id)
        .order_by(col(CreditLedger.created_at))
    ).all()
    plans = session.exec(
        select(PlanChange).where(PlanChange.user_id == user.id).order_by(col(PlanChange.changed_at))
    ).all()
    subscription = session.exec(select(Subscription).where(Subscription.user_id == user.id)).first()
    kept = {image.id for image in images}
    document = {
        "format": "imagegen-export/1",
        "exported_at": _iso(utcnow()),
        "account": {
            "name": user.name,
            "email": user.email,
            "email_verified": user.email_verified,
            "plan": PLAN_LABELS.get(user.plan, user.plan),
            "created_at": _iso(user.created_at),
            "settings": {"email_when_done": user.email_when_done},
        },
        "images": [
            {
                "id": str(image.id),
                "file": archive.image_file_name(image, "images/")
                if image.status == "completed" and image.storage_key
                else None,
                "prompt": image.prompt,
                "settings": {"size": image.size, "quality": image.quality, "style": image.style},
                "status": image.status,
                "error": image.error,
                "favorite": image.favorite,
                "collections": sorted(in_collections.get(image.id, [])),
                "shared": image.share_token is not None,
                "credits": image.cost,
                "created_at": _iso(image.created_at),
                "completed_at": _iso(image.completed_at),
            }
            for image in images
        ],
        "collections": [
            {
                "id": str(c.id),
                "name": c.name,
                "shared": c.share_token is not None,
                "created_at": _iso(c.created_at),
                "images": [str(i) for i in members.get(c.id, []) if i in kept],
            }
            for c in collections
        ],
        "credit_ledger": [
            {
                "at": _iso(row.created_at),
                "amount": row.amount,
                "reason": row.reason,
                "image_id": str(row.image_id) if row.image_id else None,
            }
            for row in ledger
        ],
        "plan_history": [
            {"plan": PLAN_LABELS.get(row.plan, row.plan), "since": _iso(row.changed_at)}
            for row in plans
        ],
        "subscription": None
        if subscription is None
        else {
            "plan": PLAN_LABELS.get(subscription.plan, subscription.plan),
            "status": subscription.status,
            "cancel_at_period_end": subscription.cancel_at_period_end,
            "current_period_end": _iso(subscription.current_period_end),
        },
    }
    return document, images


@dataclass(frozen=True)
class Built:
    """A finished archive: its file, size, and how many image files it holds."""

    path: Path
    size: int
    images: int


def write_archive(
    *, document: dict[str, Any], images: list[Image], storage: ImageStorage, path: Path
) -> Built:
    """Stream the archive into `path` (written beside it first, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = list(archive.image_entries(images, storage, "images/"))
    data = json.dumps(document, indent=2, ensure_ascii=False).encode()

    def json_bytes() -> Iterator[bytes]:
        return iter([data])

    readme = (
        b"Your imagegen data\n\n"
        b"images/    every finished image, named by date and prompt\n"
        b"data.json  your account, every prompt with its settings and dates, your\n"
        b"           collections, credit history and plan history\n"
    )
    tmp = path.with_name(f".{path.name}.part")
    size = 0
    try:
        size = _write(tmp, entries, readme, json_bytes)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return Built(path=path, size=size, images=len(entries))


def _write(
    tmp: Path, entries: list[archive.Entry], readme: bytes, json_bytes: archive.Opener
) -> int:
    size = 0
    with tmp.open("wb") as out:
        for chunk in archive.stream_zip(
            [
                archive.Entry("README.txt", utcnow(), lambda: iter([readme]), compress=True),
                archive.Entry("data.json", utcnow(), json_bytes, compress=True),
                *entries,
            ]
        ):
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return size


def build_export(
    *,
    session_factory: Callable[[], Any],
    export_id: uuid.UUID,
    storage: ImageStorage,
    data_dir: Path,
    link_hours: int,
    backend_url: str,
    mail: Callable[[Outgoing], None] | None,
) -> str:
    """Worker: prepare one export (idempotent: only a pending one is built); returns the
    outcome. The link is emailed through `mail` when given.
    """
    with session_factory() as db:
        export = db.get(DataExport, export_id)
        if export is None or export.status != "pending":
            return "skipped"
        user = db.get(User, export.user_id)
        if user is None:
            return "skipped"
        document, images = export_document(session=db, user=user)
        for image in images:
            db.expunge(image)
        user_id, email, name = user.id, user.email, user.name
    file_name = f"{user_id}-{export_id}.zip"
    try:
        built = write_archive(
            document=document,
            images=images,
            storage=storage,
            path=export_folder(data_dir) / file_name,
        )
    except OSError as exc:
        log.exception("export %s failed", export_id)
        with session_factory() as db:
            db.execute(
                update(DataExport)
                .where(col(DataExport.id) == export_id, col(DataExport.status) == "pending")
                .values(
                    status="failed", error=f"The archive could not be written ({exc.strerror})."
                )
            )
        return "failed"
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with session_factory() as db:
        done = db.execute(
            update(DataExport)
            .where(col(DataExport.id) == export_id, col(DataExport.status) == "pending")
            .values(
                status="ready",
                file_name=file_name,
                size_bytes=built.size,
                image_count=built.images,
                token_hash=security.hash_token(token),
                ready_at=now,
                expires_at=now + timedelta(hours=link_hours),
                updated_at=now,
            )
            .returning(col(DataExport.id))
        ).first()
    if done is None:  # deleted or expired meanwhile
        built.path.unlink(missing_ok=True)
        return "discarded"
    if mail is not None:
        mail(
            Outgoing(
                to=email,
                subject="Your imagegen data is ready to download",
                text=(
                    f"Hi {name},\n\n"
                    f"The export you asked for is ready: {built.images} images and a data.json "
                    f"file ({built.size / 1_000_000:.1f} MB).\n\n"
                    f"Download it within {link_hours} hours:\n{download_link(backend_url, token)}\n\n"
                    "Anyone with this link can download your data until it expires, so do not "
                    "forward this email. It is also on your account page.\n"
                ),
            )
        )
    return "ready"


def download_link(backend_url: str, token: str) -> str:
    """The emailed link of an export (a backend route: API_URL when split from APP_URL)."""
    return f"{backend_url}/api/exports/download?token={token}"


def expire_exports(*, session: Session, data_dir: Path) -> int:
    """Watchdog: archives past their link's life are deleted (after commit); returns how many."""
    expired = session.exec(
        select(DataExport)
        .where(DataExport.status == "ready", col(DataExport.expires_at) <= utcnow())
        .with_for_update(skip_locked=True)
    ).all()
    folder = export_folder(data_dir)
    for export in expired:
        export.status, export.token_hash = "expired", None
        session.add(export)
        if export.file_name:
            path = folder / export.file_name
            after_commit(session, functools.partial(path.unlink, missing_ok=True))
    session.flush()
    return len(expired)


def remove_orphans(*, session: Session, data_dir: Path) -> int:
    """Watchdog: delete archives whose export row is gone (the account was deleted)."""
    files = {}
    for path in export_folder(data_dir).glob("*.zip"):
        try:
            files[uuid.UUID(path.stem[37:])] = path  # <user id>-<export id>
        except ValueError:
            continue
    if not files:
        return 0
    known = set(session.exec(select(DataExport.id).where(col(DataExport.id).in_(list(files)))))
    orphans = [path for export_id, path in files.items() if export_id not in known]
    for path in orphans:
        path.unlink(missing_ok=True)
    return len(orphans)
