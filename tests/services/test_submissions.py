"""The one submit use case (`services.submissions.submit`) that the home page form and the
REST API share: who may submit, what it costs, and that the jobs go out only after the commit
with the owner known (real PostgreSQL and Redis; the jobs are recorded, no worker runs)."""

import uuid

import pytest

from imagegen.db import session_scope
from imagegen.errors import ImageNotFound, OutOfCredits
from imagegen.models import Image
from imagegen.providers.compose import get_moderator
from imagegen.providers.image_storage import LocalImageStorage
from imagegen.redis_client import get_redis
from imagegen.services import auth, credits, generation, library, submissions
from imagegen.services.jobs import RecordedJobs
from imagegen.settings import get_settings
from tests.fixtures.images import add_image, submit_from_tab
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


class TestVariations:
    """Variations record their source; only the submitter's own completed image may be one."""

    @staticmethod
    def variations_of(
        user_id: uuid.UUID, source_id: uuid.UUID, jobs: RecordedJobs, token: str | None = None
    ) -> submissions.Submitted | None:
        request = generation.validate_request(
            prompt="a red fox in snow", size="1024x1024", quality="low", count=2, style=None
        )
        return submissions.submit(
            request=request,
            user_id=user_id,
            plan=None,
            settings=get_settings(),
            client=get_redis(),
            moderator=get_moderator(),
            jobs=jobs,
            session_token=token,
            check_session=token is not None,
            source_image_id=source_id,
        )

    def test_the_rows_remember_the_owners_completed_image(self, tmp_path) -> None:
        token, user_id = signed_in()
        with session_scope() as db:
            source_id = add_image(db, user_id, storage=LocalImageStorage(root=tmp_path)).id
        jobs = RecordedJobs()
        submitted = self.variations_of(user_id, source_id, jobs, token)
        assert submitted is not None
        with session_scope() as db:
            rows = [db.get(Image, image.id) for image in submitted.images]
            assert [row.source_image_id for row in rows] == [source_id, source_id]
        assert len(jobs.generations) == 1

    def test_another_users_image_is_refused_and_costs_nothing(self, tmp_path) -> None:
        token, attacker_id = signed_in()
        _victim_token, victim_id = signed_in()
        with session_scope() as db:
            victims = add_image(db, victim_id, storage=LocalImageStorage(root=tmp_path)).id
        jobs = RecordedJobs()
        with pytest.raises(ImageNotFound):
            self.variations_of(attacker_id, victims, jobs, token)  # from a tab
        with pytest.raises(ImageNotFound):
            self.variations_of(attacker_id, victims, jobs)  # through the API
        assert jobs.generations == []
        with session_scope() as db:
            assert generation.list_images(session=db, user_id=attacker_id) == []
            assert len(generation.list_images(session=db, user_id=victim_id)) == 1
            assert (
                credits.get_balance(
                    session=db,
                    user_id=attacker_id,
                    allowance=credits.plan_allowance(get_settings(), "free_user"),
                ).used
                == 0
            )

    @pytest.mark.parametrize("status", ["queued", "failed", "deleted", "missing"])
    def test_an_unfinished_deleted_or_unknown_image_is_refused(self, status: str, tmp_path) -> None:
        _token, user_id = signed_in()
        with session_scope() as db:
            image = add_image(
                db,
                user_id,
                status=status if status in ("queued", "failed") else "completed",
                storage=LocalImageStorage(root=tmp_path),
            )
            if status == "deleted":
                library.delete_images(session=db, user_id=user_id, image_ids=[image.id])
            source_id = uuid.uuid4() if status == "missing" else image.id
        jobs = RecordedJobs()
        with pytest.raises(ImageNotFound):
            self.variations_of(user_id, source_id, jobs)
        assert jobs.generations == []


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
