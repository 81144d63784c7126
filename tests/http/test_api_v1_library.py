"""The library through /api/v1 with API keys: favorites, delete + restore, zip download,
collections with share pages, exports. Another user's ids answer exactly like ids that do
not exist (404, nothing changes); malformed bodies are 400s in OpenAI's error shape."""

import io
import uuid
import zipfile
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from imagegen.db import session_scope
from imagegen.http.app import build_api
from imagegen.models import Image
from imagegen.providers.compose import get_storage
from imagegen.services import api_keys, exports
from imagegen.settings import get_settings
from tests.fixtures.images import add_image
from tests.fixtures.users import create_user

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


class Person:
    def __init__(self, client: TestClient, prompts: list[str]) -> None:
        with session_scope() as db:
            user = create_user(db)
            key, _row = api_keys.create_key(session=db, user_id=user.id, name="script")
            self.images = [
                add_image(db, user.id, prompt=p, storage=get_storage(), data=f"PNG {p}".encode())
                for p in prompts
            ]
            self.id = user.id
        self.ids = [str(image.id) for image in self.images]
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def call(self, method: str, path: str, **kwargs):
        return self.client.request(method, f"/api/v1{path}", headers=self.headers, **kwargs)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_api(), base_url="http://localhost:3000") as client:
        yield client


@pytest.fixture
def ada(client) -> Person:
    return Person(client, ["a cat on a roof", "a lighthouse", "two owls"])


@pytest.fixture
def bob(client) -> Person:
    return Person(client, ["bob's boat"])


def not_found(response) -> bool:
    return response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_favorites_filter_order_and_stemmed_search(ada: Person) -> None:
    marked = ada.call("POST", "/images/favorite", json={"ids": ada.ids[:2]})
    assert marked.status_code == 200 and all(i["favorite"] for i in marked.json()["data"])
    assert ada.call("DELETE", f"/images/{ada.ids[0]}/favorite").json()["favorite"] is False
    favorites = ada.call("GET", "/images", params={"favorites": "true"}).json()["data"]
    assert [i["id"] for i in favorites] == [ada.ids[1]]
    oldest = ada.call("GET", "/images", params={"order": "asc"}).json()["data"]
    assert [i["id"] for i in oldest] == ada.ids
    cats = ada.call("GET", "/images", params={"search": "cats"}).json()["data"]
    assert [i["id"] for i in cats] == [ada.ids[0]]
    assert ada.call("GET", "/images", params={"order": "sideways"}).status_code == 400


def test_delete_restore_and_strangers(ada: Person, bob: Person) -> None:
    # Bob's id in Ada's batch: 404, and nothing of Ada's is deleted.
    mixed = ada.call("POST", "/images/delete", json={"ids": [ada.ids[0], bob.ids[0]]})
    assert not_found(mixed)
    assert len(ada.call("GET", "/images").json()["data"]) == 3
    for answer in (
        bob.call("POST", "/images/delete", json={"ids": [ada.ids[0]]}),
        bob.call("DELETE", f"/images/{ada.ids[0]}"),
        bob.call("PUT", f"/images/{ada.ids[0]}/favorite"),
        bob.call("POST", "/images/download", json={"ids": [ada.ids[0]]}),
        bob.call("POST", "/images/restore", json={"ids": [ada.ids[0]]}),
    ):
        assert not_found(answer)
    assert not_found(bob.call("DELETE", f"/images/{uuid.uuid4()}"))

    deleted = ada.call("POST", "/images/delete", json={"ids": ada.ids[:2]})
    assert deleted.status_code == 200 and deleted.json()["deleted"] == ada.ids[:2]
    assert [i["id"] for i in ada.call("GET", "/images").json()["data"]] == [ada.ids[2]]
    assert not_found(ada.call("GET", f"/images/{ada.ids[0]}"))
    # Bob cannot restore what Ada deleted either.
    assert not_found(bob.call("POST", "/images/restore", json={"ids": [ada.ids[0]]}))
    restored = ada.call("POST", "/images/restore", json={"ids": ada.ids[:2]})
    assert restored.status_code == 200 and len(restored.json()["data"]) == 2
    assert len(ada.call("GET", "/images").json()["data"]) == 3


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": "not-a-list"},
        {"ids": []},
        {"ids": [1, 2]},
        {"ids": ["x"], "surprise": True},
        {"ids": ["x"] * 1001},
    ],
)
def test_malformed_bodies_are_400s_in_openais_shape(ada: Person, body) -> None:
    answer = ada.call("POST", "/images/delete", json=body)
    assert answer.status_code == 400
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}


def test_zip_download_holds_exactly_the_asked_images(ada: Person) -> None:
    answer = ada.call("POST", "/images/download", json={"ids": [ada.ids[2], ada.ids[0]]})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as opened:
        contents = sorted(opened.read(name) for name in opened.namelist())
    assert contents == [b"PNG a cat on a roof", b"PNG two owls"]


def test_collections_with_a_share_page(ada: Person, bob: Person, client: TestClient) -> None:
    made = ada.call("POST", "/collections", json={"name": "Animals"})
    assert made.status_code == 201 and made.json()["share_url"] is None
    album = made.json()["id"]
    assert ada.call("POST", "/collections", json={"name": "animals"}).status_code == 400
    added = ada.call("POST", f"/collections/{album}/images", json={"ids": [ada.ids[0], ada.ids[2]]})
    assert added.json()["image_count"] == 2
    listed = ada.call("GET", f"/collections/{album}/images").json()["data"]
    assert [i["id"] for i in listed] == [ada.ids[2], ada.ids[0]]
    # Bob sees nothing and changes nothing; his image cannot go into Ada's collection.
    for answer in (
        bob.call("GET", f"/collections/{album}"),
        bob.call("GET", f"/collections/{album}/images"),
        bob.call("PATCH", f"/collections/{album}", json={"name": "Mine now"}),
        bob.call("PUT", f"/collections/{album}/share"),
        bob.call("DELETE", f"/collections/{album}"),
        bob.call("POST", f"/collections/{album}/images", json={"ids": bob.ids}),
        ada.call("POST", f"/collections/{album}/images", json={"ids": bob.ids}),
    ):
        assert not_found(answer)
    assert bob.call("GET", "/collections").json()["data"] == []

    shared = ada.call("PUT", f"/collections/{album}/share").json()
    path = shared["share_url"].removeprefix(get_settings().backend_url)
    page = client.get(path)
    assert page.status_code == 200 and "Animals" in page.text and "two owls" in page.text
    assert "a lighthouse" not in page.text
    picture = client.get(f"{path}/{ada.ids[0]}.png")
    assert picture.status_code == 200 and picture.content == b"PNG a cat on a roof"
    assert client.get(f"{path}/{ada.ids[1]}.png").status_code == 404  # not in the collection
    removed = ada.call("POST", f"/collections/{album}/images/remove", json={"ids": [ada.ids[0]]})
    assert removed.json()["image_count"] == 1
    assert client.get(f"{path}/{ada.ids[0]}.png").status_code == 404
    renamed = ada.call("PATCH", f"/collections/{album}", json={"name": "Birds"})
    assert renamed.json()["name"] == "Birds"
    assert ada.call("DELETE", f"/collections/{album}/share").json()["share_url"] is None
    assert client.get(path).status_code == 404
    assert ada.call("DELETE", f"/collections/{album}").json()["deleted"] is True
    assert not_found(ada.call("GET", f"/collections/{album}"))
    assert len(ada.call("GET", "/images").json()["data"]) == 3  # the images stay


def test_export_through_the_api(ada: Person, bob: Person, client: TestClient) -> None:
    started = ada.call("POST", "/exports")
    assert started.status_code == 202 and started.json()["status"] == "pending"
    assert ada.call("POST", "/exports").status_code == 409
    export_id = started.json()["id"]
    assert ada.call("GET", f"/exports/{export_id}").json()["download_url"] is None
    assert not_found(ada.call("GET", f"/exports/{export_id}/download"))
    exports.build_export(  # what the worker does
        session_factory=session_scope,
        export_id=uuid.UUID(export_id),
        storage=get_storage(),
        data_dir=get_settings().data_dir,
        link_hours=24,
        backend_url=get_settings().backend_url,
        mail=None,
    )
    ready = ada.call("GET", f"/exports/{export_id}").json()
    assert ready["status"] == "ready" and ready["image_count"] == 3
    assert not_found(bob.call("GET", f"/exports/{export_id}"))
    assert not_found(bob.call("GET", f"/exports/{export_id}/download"))
    archive = ada.call("GET", f"/exports/{export_id}/download")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert "data.json" in opened.namelist()
        assert len([n for n in opened.namelist() if n.startswith("images/")]) == 3
    # The browser route takes the session cookie or the key; a stranger gets 404.
    url = ready["download_url"].removeprefix(get_settings().backend_url)
    assert client.get(url, headers=ada.headers).status_code == 200
    assert client.get(url, headers=bob.headers).status_code == 404
    assert client.get(url).status_code == 404


def test_a_deleted_image_is_hidden_from_its_file_route(ada: Person, client: TestClient) -> None:
    with session_scope() as db:
        url = db.get(Image, uuid.UUID(ada.ids[0])).image_url
    assert client.get(url, headers=ada.headers).status_code == 200
    ada.call("DELETE", f"/images/{ada.ids[0]}")
    assert client.get(url, headers=ada.headers).status_code == 404
