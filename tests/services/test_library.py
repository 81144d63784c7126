"""Library: favorites and the All/Favorites filter, newest/oldest order, delete with undo
(soft delete, then purged for good), stemmed search, recent prompts, "email me when done"."""

import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from imagegen.errors import ImageNotFound, InvalidInput
from imagegen.models import CreditLedger, Image, User, utcnow
from imagegen.providers.image_storage import LocalImageStorage
from imagegen.services import generation, library
from tests.fixtures.images import add_image, queue_images
from tests.fixtures.users import create_user


def ids(images: list[Image]) -> list[uuid.UUID]:
    return [image.id for image in images]


def gallery(db: Session, user: User, **options) -> list[uuid.UUID]:
    return ids(generation.list_images(session=db, user_id=user.id, **options))


class TestFavorites:
    def test_heart_filter_and_order(self, db: Session, user: User) -> None:
        start = utcnow() - timedelta(hours=1)
        a, b, c = (
            add_image(db, user.id, prompt=p, created_at=start + timedelta(minutes=n))
            for n, p in enumerate(["first", "second", "third"])
        )
        library.set_favorite(session=db, user_id=user.id, image_ids=[a.id, c.id], favorite=True)
        assert gallery(db, user) == [c.id, b.id, a.id]
        assert gallery(db, user, favorites=True) == [c.id, a.id]
        assert gallery(db, user, oldest_first=True) == [a.id, b.id, c.id]
        assert gallery(db, user, favorites=True, oldest_first=True) == [a.id, c.id]
        # Keyset pages in both orders.
        assert gallery(db, user, limit=1, before=(a.created_at, a.id), oldest_first=True) == [b.id]
        assert gallery(db, user, limit=1, before=(c.created_at, c.id)) == [b.id]
        library.set_favorite(session=db, user_id=user.id, image_ids=[a.id], favorite=False)
        assert gallery(db, user, favorites=True) == [c.id]

    def test_someone_elses_id_changes_nothing(self, db: Session, user: User) -> None:
        mine = add_image(db, user.id)
        other = create_user(db)
        theirs = add_image(db, other.id)
        for batch in ([theirs.id], [mine.id, theirs.id], [uuid.uuid4()], ["not-an-id"]):
            with pytest.raises(ImageNotFound):
                library.set_favorite(session=db, user_id=user.id, image_ids=batch, favorite=True)
        db.refresh(mine)
        db.refresh(theirs)
        assert not mine.favorite and not theirs.favorite

    def test_batch_bounds(self, db: Session, user: User) -> None:
        with pytest.raises(InvalidInput):
            library.set_favorite(session=db, user_id=user.id, image_ids=[], favorite=True)
        with pytest.raises(InvalidInput, match="at most"):
            library.set_favorite(
                session=db,
                user_id=user.id,
                image_ids=[uuid.uuid4() for _ in range(library.MAX_BATCH + 1)],
                favorite=True,
            )


class TestDeleteAndUndo:
    def test_deleted_images_are_gone_everywhere_until_restored(
        self, db: Session, user: User
    ) -> None:
        keep, gone = add_image(db, user.id, prompt="keep"), add_image(db, user.id, prompt="gone")
        generation.share_image(session=db, user_id=user.id, image_id=gone.id)
        token = gone.share_token
        library.delete_images(session=db, user_id=user.id, image_ids=[gone.id])
        assert gallery(db, user) == [keep.id]
        assert gallery(db, user, search="gone") == []
        with pytest.raises(ImageNotFound):
            generation.get_image(session=db, user_id=user.id, image_id=gone.id)
        assert generation.get_images(session=db, user_id=user.id, image_ids=[gone.id]) == []
        assert generation.get_shared(session=db, token=token) is None
        assert library.recent_prompts(session=db, user_id=user.id) == ["keep"]

        library.restore_images(
            session=db, user_id=user.id, image_ids=[gone.id], window=timedelta(minutes=1)
        )
        assert set(gallery(db, user)) == {keep.id, gone.id}
        assert generation.get_shared(session=db, token=token) is not None

    def test_undo_is_refused_after_the_window_and_for_strangers(
        self, db: Session, user: User
    ) -> None:
        image = add_image(db, user.id)
        library.delete_images(session=db, user_id=user.id, image_ids=[image.id])
        stranger = create_user(db)
        with pytest.raises(ImageNotFound):
            library.restore_images(
                session=db, user_id=stranger.id, image_ids=[image.id], window=timedelta(hours=1)
            )
        image.deleted_at = utcnow() - timedelta(minutes=5)
        db.add(image)
        db.flush()
        with pytest.raises(ImageNotFound):
            library.restore_images(
                session=db, user_id=user.id, image_ids=[image.id], window=timedelta(minutes=1)
            )

    def test_deleting_a_queued_image_cancels_and_refunds_once(
        self, db: Session, user: User
    ) -> None:
        [queued] = queue_images(db, user, prompt="queued fox")
        library.delete_images(session=db, user_id=user.id, image_ids=[queued.id])
        library.restore_images(
            session=db, user_id=user.id, image_ids=[queued.id], window=timedelta(minutes=1)
        )
        db.refresh(queued)
        assert queued.status == "cancelled"  # back, but the job stays stopped
        library.delete_images(session=db, user_id=user.id, image_ids=[queued.id])
        ledger = db.exec(select(CreditLedger.amount).where(CreditLedger.user_id == user.id)).all()
        assert sorted(ledger) == [-1, 1]  # one debit, one refund, however often deleted

    def test_the_watchdog_purges_rows_and_files_after_the_window(
        self, db: Session, user: User, tmp_path
    ) -> None:
        storage = LocalImageStorage(root=tmp_path)
        recent = add_image(db, user.id, storage=storage)
        old = add_image(db, user.id, storage=storage)
        library.delete_images(session=db, user_id=user.id, image_ids=[recent.id, old.id])
        old.deleted_at = utcnow() - timedelta(minutes=2)
        db.add(old)
        db.flush()
        removed: list[str] = []
        purged = library.purge_deleted(
            session=db,
            older_than=timedelta(minutes=1),
            delete_file=lambda key, _file_id: removed.append(key),
        )
        # (Other tests' committed deletions may be past the window too: only ours are asserted.)
        assert old.id in ids(purged) and recent.id not in ids(purged)
        assert db.get(Image, old.id) is None and db.get(Image, recent.id) is not None
        assert removed == []  # files go only after commit
        for callback in db.info.pop("after_commit", []):  # (registered on the session)
            callback()
        assert old.storage_key in removed and recent.storage_key not in removed


class TestSearch:
    @pytest.mark.parametrize(
        ("prompt", "search"),
        [
            ("a cat on a windowsill", "cats"),
            ("two cats asleep", "cat"),
            ("a horse running on the beach", "runs"),
            ("Katzen im Schnee", "katzen"),  # not English: matched as typed
            ("a lighthouse at dawn", "LIGHTHOUSE dawn"),
        ],
    )
    def test_words_match_by_stem(self, db: Session, user: User, prompt: str, search: str) -> None:
        image = add_image(db, user.id, prompt=prompt)
        add_image(db, user.id, prompt="something else entirely")
        assert gallery(db, user, search=search) == [image.id]

    def test_all_words_must_match(self, db: Session, user: User) -> None:
        add_image(db, user.id, prompt="a cat")
        assert gallery(db, user, search="cats dogs") == []


class TestRecentPrompts:
    def test_distinct_newest_first_and_filtered(self, db: Session, user: User) -> None:
        start = utcnow() - timedelta(hours=1)
        for n, prompt in enumerate(["a fox", "a lighthouse", "a fox", "foggy harbour", "a cat"]):
            add_image(db, user.id, prompt=prompt, created_at=start + timedelta(minutes=n))
        assert library.recent_prompts(session=db, user_id=user.id) == [
            "a cat",
            "foggy harbour",
            "a fox",
            "a lighthouse",
        ]
        # Prompts starting with what is typed come first, then those containing it.
        assert library.recent_prompts(session=db, user_id=user.id, typed="fo") == [
            "foggy harbour",
            "a fox",
        ]
        assert library.recent_prompts(session=db, user_id=user.id, typed="100%_") == []
        other = create_user(db)
        assert library.recent_prompts(session=db, user_id=other.id) == []


class TestDoneEmails:
    def test_only_long_jobs_of_people_who_asked_once(self, db: Session) -> None:
        asked, quiet = create_user(db, name="Asker"), create_user(db)
        library.set_email_when_done(session=db, user_id=asked.id, enabled=True)
        now = utcnow()
        for user in (asked, quiet):
            slow = add_image(
                db, user.id, prompt="slow castle", created_at=now - timedelta(minutes=9)
            )
            slow.completed_at = now - timedelta(minutes=1)
            db.add(slow)
            add_image(db, user.id, prompt="quick fox", created_at=now - timedelta(minutes=1))
        db.flush()
        [message] = library.done_emails(
            session=db, long_job=timedelta(minutes=3), app_url="https://x.test", now=now
        )
        assert message.to == asked.email and "slow castle" in message.text
        assert "quick fox" not in message.text and "https://x.test/" in message.text
        assert (
            library.done_emails(session=db, long_job=timedelta(minutes=3), app_url="", now=now)
            == []
        )
