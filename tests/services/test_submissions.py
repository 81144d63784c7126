"""The one submit use case (`services.submissions.submit`) that the home page form and the
REST API share: who may submit, what it costs, and that the jobs go out only after the commit
with the owner known (real PostgreSQL and Redis; the jobs are recorded, no worker runs)."""

import uuid

import pytest

from imagegen.db import session_scope
from imagegen.errors import OutOfCredits
from imagegen.models import Image
from imagegen.providers.compose import get_moderator
from imagegen.redis_client import get_redis
from imagegen.services import auth, generation, submissions
from imagegen.services.jobs import RecordedJobs
from imagegen.settings import get_settings
from tests.fixtures.images import submit_from_tab
from tests.fixtures.users import create_user

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


def signed_in(plan: str = "free_user") -> tuple[str, uuid.UUID]:
    with session_scope() as db:
        user = create_user(db)
        user.plan = plan
        token, _row = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        return token, user.id


class TestFromTheForm:
    def test_queues_debits_and_hands_the_ids_to_the_jobs_after_the_commit(self) -> None:
        token, user_id = signed_in()
        jobs = RecordedJobs()
        submitted = submit_from_tab(token, user_id, "a heron at dusk", count=2, jobs=jobs)
        assert submitted is not None
        assert [image.status for image in submitted.images] == ["queued", "queued"]
        assert submitted.snapshot.balance.used == 2
        assert jobs.generations == [(user_id, [str(image.id) for image in submitted.images])]
        with session_scope() as db:  # committed before the jobs were asked for
            assert (
                len(
                    generation.get_images(
                        session=db, user_id=user_id, image_ids=[i.id for i in submitted.images]
                    )
                )
                == 2
            )

    def test_a_tab_whose_session_is_gone_submits_nothing(self) -> None:
        token, user_id = signed_in()
        _other, other_id = signed_in()
        jobs = RecordedJobs()
        assert submit_from_tab(token, other_id, "not mine", jobs=jobs) is None
        assert submit_from_tab(None, user_id, "no cookie", jobs=jobs) is None
        with session_scope() as db:
            auth.end_session(session=db, token=token)
        assert submit_from_tab(token, user_id, "after sign-out", jobs=jobs) is None
        assert jobs.generations == []

    def test_out_of_credits_keeps_no_row_and_sends_no_job(self, monkeypatch) -> None:
        monkeypatch.setenv("CREDITS_FREE_USER", "3")
        get_settings.cache_clear()
        try:
            token, user_id = signed_in()
            jobs = RecordedJobs()
            with pytest.raises(OutOfCredits):
                submit_from_tab(token, user_id, "one too many", count=4, jobs=jobs)
        finally:
            monkeypatch.undo()
            get_settings.cache_clear()
        assert jobs.generations == []
        with session_scope() as db:
            assert generation.list_images(session=db, user_id=user_id) == []


def test_the_api_path_needs_no_session_and_reaches_the_same_jobs() -> None:
    _token, user_id = signed_in("pro_user")
    jobs = RecordedJobs()
    request = generation.validate_request(
        prompt="an otter", size="1024x1024", quality="low", count=1, style=None
    )
    submitted = submissions.submit(
        request=request,
        user_id=user_id,
        plan="pro_user",
        settings=get_settings(),
        client=get_redis(),
        moderator=get_moderator(),
        jobs=jobs,
        check_session=False,
    )
    assert submitted is not None
    (image,) = submitted.images
    assert jobs.generations == [(user_id, [str(image.id)])]
    with session_scope() as db:
        assert db.get(Image, image.id).status == "queued"


def test_importing_the_web_app_builds_no_broker() -> None:
    """The web process reaches the workers only through the jobs port, on first use."""
    import subprocess
    import sys

    code = (
        "import sys, imagegen.imagegen; "
        "print(sorted(m for m in sys.modules if m == 'workers' or m.startswith('workers.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
