"""Two users, every HTTP route and every event handler's service call that takes an id: Bob
never reads or changes Ada's data, and gets the same "not found" as for an id that does not
exist (never a "forbidden" that would confirm it exists). One table, one test per row."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.db import session_scope
from imagegen.errors import ImagegenError
from imagegen.http.app import build_api
from imagegen.models import Image, UserSession
from imagegen.providers.compose import get_storage
from imagegen.services import auth, feed, generation
from imagegen.settings import get_settings
from imagegen.state.gallery import _delete, _on_image, _restore, _set_favorite
from tests.fixtures.images import draw, queue_images
from tests.fixtures.users import DEFAULT_PASSWORD, create_user, unique_email

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


@dataclass
class World:
    ada_id: uuid.UUID
    bob_id: uuid.UUID
    done: uuid.UUID  # Ada's completed image
    queued: uuid.UUID  # Ada's queued image
    failed: uuid.UUID  # Ada's failed image
    ada_session: uuid.UUID
    file_url: str
    bob: TestClient


def _client(email: str) -> TestClient:
    client = TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False)
    login = client.post(routes.API_LOGIN, data={"email": email, "password": DEFAULT_PASSWORD})
    client.cookies.set(routes.SESSION_COOKIE, login.cookies[routes.SESSION_COOKIE])
    return client


@pytest.fixture
def world() -> World:
    """Ada with a completed, a queued and a failed image and a second session; Bob signed in."""
    ada_email, bob_email = unique_email("ada"), unique_email("bob")
    with session_scope() as db:
        ada = create_user(db, email=ada_email)
        bob = create_user(db, email=bob_email)
        done, queued, failed = queue_images(db, ada, prompt="Ada's private lighthouse", count=3)
        _token, ada_session = auth.create_session(
            session=db, user=ada, ip_address=None, user_agent="ada's laptop"
        )
        ids = (ada.id, bob.id, done.id, queued.id, failed.id, ada_session.id)
    draw(ids[2])
    with session_scope() as db:
        generation.fail_generation(session=db, image_id=ids[4], reason="test failure")
        url = db.get(Image, ids[2]).image_url
    return World(*ids, file_url=url, bob=_client(bob_email))


def _ada_unchanged(world: World) -> None:
    with session_scope() as db:
        statuses = {
            i.id: (i.status, i.dismissed, i.favorite, i.deleted_at)
            for i in db.exec(select(Image).where(Image.user_id == world.ada_id))
        }
        assert statuses == {
            world.done: ("completed", False, False, None),
            world.queued: ("queued", False, False, None),
            world.failed: ("failed", False, False, None),
        }
        assert db.get(UserSession, world.ada_session) is not None
        key = db.get(Image, world.done).storage_key
    assert get_storage().path_for(key).is_file()


def _http(path: Callable[[World], str]) -> Callable[[World, str], int]:
    def call(world: World, id_or_none: str) -> int:
        target = (
            path(world)
            if id_or_none == "real"
            else path(world).replace(str(world.done), str(uuid.uuid4()))
        )
        return world.bob.get(target).status_code

    return call


# The service each card event calls (delete goes through `_delete`, as the tab's event does).
CARD_SERVICES = {
    "cancel": generation.cancel_generation,
    "dismiss": generation.dismiss_image,
    "share": generation.share_image,
    "unshare": generation.stop_sharing,
}


def _handler(action: str, image: str) -> Callable[[World, str], str]:
    def call(world: World, id_or_none: str) -> str:
        target = str(getattr(world, image)) if id_or_none == "real" else str(uuid.uuid4())
        with pytest.raises(ImagegenError) as refused:
            if action == "delete":
                _delete(str(world.bob_id), [target])
            else:
                _on_image(CARD_SERVICES[action], str(world.bob_id), target)
        return str(refused.value)

    return call


def _tab(action: str) -> Callable[[World, str], str]:
    """The gallery's bulk events (delete, undo, hearts) as a tab of Bob's runs them."""

    def call(world: World, id_or_none: str) -> str:
        target = str(world.done) if id_or_none == "real" else str(uuid.uuid4())
        run = {
            "delete": lambda: _delete(str(world.bob_id), [target]),
            "undo": lambda: _restore(str(world.bob_id), [target]),
            "favorite": lambda: _set_favorite(str(world.bob_id), [target], True),
        }[action]
        with pytest.raises(ImagegenError) as refused:
            run()
        return str(refused.value)

    return call


def _revoke(world: World, id_or_none: str) -> str:
    from imagegen.services import accounts

    target = world.ada_session if id_or_none == "real" else uuid.uuid4()
    with pytest.raises(ImagegenError) as refused, session_scope() as db:
        accounts.revoke_session(session=db, user_id=world.bob_id, session_id=target)
    return str(refused.value)


def _zip(world: World, id_or_none: str) -> int:
    target = str(world.done) if id_or_none == "real" else str(uuid.uuid4())
    return world.bob.post(routes.API_IMAGES_ZIP, data={"ids": target}).status_code


def _library(action: str) -> Callable[[World, str], str]:
    def call(world: World, id_or_none: str) -> str:
        from imagegen.services import collections, library

        target = world.done if id_or_none == "real" else uuid.uuid4()
        with pytest.raises(ImagegenError) as refused, session_scope() as db:
            if action == "favorite":
                library.set_favorite(
                    session=db, user_id=world.bob_id, image_ids=[target], favorite=True
                )
            elif action == "delete":
                library.delete_images(session=db, user_id=world.bob_id, image_ids=[target])
            else:
                mine = collections.create_collection(session=db, user_id=world.bob_id, name="x")
                collections.add_images(
                    session=db, user_id=world.bob_id, collection_id=mine.id, image_ids=[target]
                )
        return str(refused.value)

    return call


# (what, call(world, "real" | "missing") -> status or message, Bob's answer for Ada's id)
CASES = {
    "GET image file": (_http(lambda w: w.file_url), 404),
    "GET image thumbnail": (_http(lambda w: f"{w.file_url}?w=256"), 404),
    "GET image download": (_http(lambda w: routes.image_download_url(w.done)), 404),
    "event delete (completed image)": (_handler("delete", "done"), "not found"),
    "event delete (queued image)": (_handler("delete", "queued"), "not found"),
    "event cancel (queued image)": (_handler("cancel", "queued"), "not found"),
    "event dismiss (failed image)": (_handler("dismiss", "failed"), "not found"),
    "event share (completed image)": (_handler("share", "done"), "not found"),
    "event stop sharing": (_handler("unshare", "done"), "not found"),
    "event revoke session": (_revoke, "No such session."),
    "event bulk delete": (_tab("delete"), "not found"),
    "event undo delete": (_tab("undo"), "These images can no longer be restored."),
    "event favorite": (_tab("favorite"), "not found"),
    "POST images zip": (_zip, 404),
    "library favorite": (_library("favorite"), "not found"),
    "library delete": (_library("delete"), "not found"),
    "library add to own collection": (_library("collect"), "not found"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bob_cannot_reach_adas_data(world: World, case: str) -> None:
    call, expected = CASES[case]
    answer_for_adas_id = call(world, "real")
    answer_for_no_such_id = call(world, "missing")
    if isinstance(expected, int):
        assert answer_for_adas_id == expected
    else:
        assert expected in answer_for_adas_id.lower() or expected == answer_for_adas_id
    assert answer_for_adas_id == answer_for_no_such_id  # nothing tells that it exists
    _ada_unchanged(world)


def test_bobs_lists_and_search_never_show_adas_images(world: World) -> None:
    with session_scope() as db:
        settings = get_settings()
        snap = feed.snapshot(session=db, user_id=world.bob_id, settings=settings)
        assert snap is not None and snap.images == []
        assert generation.list_images(session=db, user_id=world.bob_id, search="lighthouse") == []
        assert (
            generation.get_images(
                session=db, user_id=world.bob_id, image_ids=[world.done, world.queued]
            )
            == []
        )
