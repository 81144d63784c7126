"""The home page form's submit as a socket can send it: before the page's load has found the
user (a fast click, or a raw socket that never loads the page), the cookie decides who
submits; without a valid cookie nothing is made and the tab goes to sign in."""

import uuid

import pytest

from imagegen.db import session_scope
from imagegen.services import auth, generation
from imagegen.services.jobs import RecordedJobs, use_jobs
from imagegen.state.gallery import _submit
from tests.fixtures.users import create_user

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


@pytest.fixture
def jobs():
    recorded = RecordedJobs()
    use_jobs(recorded)
    yield recorded
    use_jobs(None)


def _signed_in() -> tuple[str, uuid.UUID]:
    with session_scope() as db:
        user = create_user(db)
        token, _row = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        return token, user.id


def _send(token: str | None, user_id: str = "") -> object:
    return _submit(token, user_id, None, "a kite over dunes", "1024x1024", "low", 1, "none")


def test_before_the_page_has_loaded_the_cookie_names_the_user(jobs) -> None:
    token, user_id = _signed_in()
    submitted = _send(token)
    assert submitted is not None
    cards, _balance = submitted
    assert [c["prompt"] for c in cards] == ["a kite over dunes"]
    assert jobs.generations == [(user_id, [cards[0]["id"]])]
    with session_scope() as db:
        assert [i.prompt for i in generation.list_images(session=db, user_id=user_id)] == [
            "a kite over dunes"
        ]


@pytest.mark.parametrize("token", [None, "", "not-a-session", "x" * 5000])
def test_without_a_valid_cookie_nothing_is_made(jobs, token) -> None:
    assert _send(token) is None
    assert jobs.generations == []


def test_a_loaded_tab_cannot_submit_for_someone_else(jobs) -> None:
    token, _mine = _signed_in()
    _other_token, other = _signed_in()
    assert _send(token, str(other)) is None
    assert jobs.generations == []
