"""Generation service: validation, submission, status transitions, refunds once, owner checks."""

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from imagegen.cards import parse_sort_key, sort_key
from imagegen.db import session_scope
from imagegen.errors import ImageNotFound, InvalidInput, OutOfCredits, TooManyInProgress
from imagegen.models import CreditLedger, Image, User
from imagegen.services import credits, generation
from imagegen.settings import get_settings
from tests.fixtures.users import create_user


def submit(
    db: Session,
    user: User,
    prompt: str = "a red fox in snow",
    count: int = 1,
    sent: list | None = None,
) -> list[Image]:
    request = generation.validate_request(
        prompt=prompt, size="1024x1024", quality="medium", count=count, style=None
    )
    return generation.submit_generation(
        session=db,
        user=user,
        request=request,
        settings=get_settings(),
        enqueue=(sent.extend if sent is not None else lambda ids: None),
    )


def used(db: Session, user: User) -> int:
    return credits.get_balance(
        session=db, user_id=user.id, allowance=credits.plan_allowance(get_settings(), user.plan)
    ).used


class TestValidation:
    @pytest.mark.parametrize(
        ("prompt", "message"),
        [
            ("", "the prompt is empty"),
            ("   \n\t  ", "the prompt is empty"),
            ("x" * 10_000, "The prompt is 10,000 characters; the limit is 4,000."),
            ("x" * 4001, "The prompt is 4,001 characters"),
            ("bad \x00 byte", "control characters"),
            ("bell \x07", "control characters"),
        ],
    )
    def test_bad_prompts_are_refused_clearly(self, prompt: str, message: str) -> None:
        with pytest.raises(InvalidInput, match=message):
            generation.validate_prompt(prompt)

    def test_trims_and_keeps_newlines_emoji_and_rtl(self) -> None:
        assert (
            generation.validate_prompt("  a cat\r\nin a hat 🐈 שלום  ") == "a cat\nin a hat 🐈 שלום"
        )
        assert generation.validate_prompt("x" * 4000) == "x" * 4000

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("size", "999x999"),
            ("quality", "ultra"),
            ("count", 0),
            ("count", 5),
            ("style", "cubism"),
        ],
    )
    def test_options_are_checked(self, field: str, value: object) -> None:
        options: dict = {
            "prompt": "ok",
            "size": "1024x1024",
            "quality": "low",
            "count": 1,
            "style": None,
        }
        options[field] = value
        with pytest.raises(InvalidInput):
            generation.validate_request(**options)

    def test_style_is_added_to_the_model_prompt_only(self) -> None:
        request = generation.validate_request(
            prompt="a fox", size="1536x1024", quality="high", count=2, style="watercolor"
        )
        assert request.prompt == "a fox"
        assert "watercolor" in request.model_prompt


class TestSubmit:
    def test_debits_inserts_queued_rows_and_writes_ledger(self, db: Session, user: User) -> None:
        images = submit(db, user, count=3)
        assert [i.status for i in images] == ["queued"] * 3
        assert used(db, user) == 3
        ledger = db.exec(select(CreditLedger).where(CreditLedger.user_id == user.id)).all()
        assert sorted(r.amount for r in ledger) == [-1, -1, -1]

    def test_out_of_credits_creates_nothing_and_queues_nothing(self, engine) -> None:
        sent: list[str] = []
        with session_scope() as db:
            user_id = create_user(db).id
        with pytest.raises(OutOfCredits), session_scope() as db:
            for _ in range(3):
                submit(db, db.get(User, user_id), count=4, sent=sent)  # 12 > 10 credits
                db.execute(  # done, so no longer in progress
                    text("UPDATE image SET status = 'completed' WHERE user_id = :u"), {"u": user_id}
                )
        with session_scope() as db:
            assert db.exec(select(Image).where(Image.user_id == user_id)).all() == []
            assert used(db, db.get(User, user_id)) == 0
            db.delete(db.get(User, user_id))
        assert sent == []

    def test_messages_are_sent_only_after_commit(self, engine) -> None:
        sent: list[str] = []
        with session_scope() as db:
            user = create_user(db)
            user_id = user.id
            images = submit(db, user, count=2, sent=sent)
            assert sent == []  # not yet: the rows are not committed
        assert sent == [str(i.id) for i in images]
        with pytest.raises(RuntimeError), session_scope() as db:
            submit(db, db.get(User, user_id), sent=sent)
            raise RuntimeError("rolled back")
        assert len(sent) == 2
        with session_scope() as db:
            db.delete(db.get(User, user_id))


class TestTransitions:
    def test_happy_path(self, db: Session, user: User) -> None:
        (image,) = submit(db, user)
        started = generation.start_generation(session=db, image_id=image.id)
        assert started is not None and started.status == "generating" and started.attempts == 1
        done = generation.complete_generation(
            session=db,
            image_id=image.id,
            image_url="/x.png",
            storage_key="k.png",
            storage_file_id=None,
            width=1024,
            height=1024,
            provider="offline",
        )
        assert done is not None and done.status == "completed" and done.completed_at is not None
        # A redelivered message for a completed image is skipped.
        assert generation.start_generation(session=db, image_id=image.id) is None

    def test_failure_refunds_exactly_once(self, db: Session, user: User) -> None:
        (image,) = submit(db, user)
        generation.start_generation(session=db, image_id=image.id)
        assert generation.fail_generation(session=db, image_id=image.id, reason="boom") is not None
        assert generation.fail_generation(session=db, image_id=image.id, reason="again") is None
        assert used(db, user) == 0
        refunds = db.exec(
            select(CreditLedger).where(CreditLedger.user_id == user.id, CreditLedger.amount > 0)
        ).all()
        assert len(refunds) == 1
        # A late completion after the failure is refused (the worker then deletes its file).
        assert (
            generation.complete_generation(
                session=db,
                image_id=image.id,
                image_url="/x",
                storage_key="k.png",
                storage_file_id=None,
                width=1,
                height=1,
                provider="offline",
            )
            is None
        )

    def test_cancel_only_when_queued_and_refunds(self, db: Session, user: User) -> None:
        first, second = submit(db, user, count=2)
        cancelled = generation.cancel_generation(session=db, user_id=user.id, image_id=first.id)
        assert cancelled.status == "cancelled"
        assert used(db, user) == 1
        generation.start_generation(session=db, image_id=second.id)
        with pytest.raises(InvalidInput, match="still in the queue"):
            generation.cancel_generation(session=db, user_id=user.id, image_id=second.id)
        # A cancelled image's message is skipped by the worker.
        assert generation.start_generation(session=db, image_id=first.id) is None

    def test_watchdog_fails_and_refunds_stuck_images(self, db: Session, user: User) -> None:
        stuck, fresh = submit(db, user, count=2)
        db.execute(
            text("UPDATE image SET updated_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": stuck.id},
        )
        failed = generation.fail_stuck_generations(session=db, older_than=timedelta(minutes=15))
        assert [i.id for i in failed] == [stuck.id]
        db.refresh(fresh)
        assert fresh.status == "queued"
        assert used(db, user) == 1


class TestInProgressLimit:
    def test_beyond_the_plan_limit_is_refused_clearly_and_costs_nothing(
        self, db: Session, user: User
    ) -> None:
        first = submit(db, user, count=3)
        with pytest.raises(TooManyInProgress) as refused:
            submit(db, user, count=2)
        assert str(refused.value) == (
            "You have 3 images in progress; the Free plan makes up to 4 at once. "
            "Wait for some to finish, or ask for fewer."
        )
        assert used(db, user) == 3
        submit(db, user, count=1)  # exactly at the limit
        db.execute(
            text("UPDATE image SET status = 'completed' WHERE id = :id"), {"id": first[0].id}
        )
        submit(db, user, count=1)  # one finished, one more fits
        assert used(db, user) == 5

    def test_limits_follow_the_plan(self, db: Session, user: User) -> None:
        user.plan = "pro_user"
        for _ in range(3):
            submit(db, user, count=4)
        with pytest.raises(TooManyInProgress, match="the Pro plan makes up to 12"):
            submit(db, user, count=1)

    def test_two_tabs_submitting_at_once_cannot_pass_the_limit_together(self, engine) -> None:
        with session_scope() as db:
            user_id = create_user(db).id
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def tab() -> None:
            barrier.wait()
            try:
                with session_scope() as db:
                    submit(db, db.get(User, user_id), count=3)
                outcomes.append("queued")
            except TooManyInProgress:
                outcomes.append("refused")

        threads = [threading.Thread(target=tab) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["queued", "refused"]
        with session_scope() as db:
            assert len(db.exec(select(Image).where(Image.user_id == user_id)).all()) == 3
            assert used(db, db.get(User, user_id)) == 3


class TestGallery:
    def test_newest_first_with_keyset_pages_and_search(self, db: Session, user: User) -> None:
        user.plan = "pro_user"  # 5 in progress at once
        for n in range(5):
            submit(db, user, prompt=f"lighthouse number {n}" if n % 2 else f"mountain lake {n}")
        first = generation.list_images(session=db, user_id=user.id, limit=3)
        last = first[-1]
        rest = generation.list_images(
            session=db, user_id=user.id, limit=3, before=(last.created_at, last.id)
        )
        assert len(first) == 3 and len(rest) == 2
        everything = first + rest
        assert len({i.id for i in everything}) == 5
        assert [i.created_at for i in everything] == sorted(
            (i.created_at for i in everything), reverse=True
        )
        found = generation.list_images(session=db, user_id=user.id, search="Lighthouse")
        assert {i.prompt for i in found} == {"lighthouse number 1", "lighthouse number 3"}

    def test_dismiss_hides_failed_images_only(self, db: Session, user: User) -> None:
        ok, bad = submit(db, user, count=2)
        generation.fail_generation(session=db, image_id=bad.id, reason="nope")
        with pytest.raises(InvalidInput):
            generation.dismiss_image(session=db, user_id=user.id, image_id=ok.id)
        generation.dismiss_image(session=db, user_id=user.id, image_id=bad.id)
        assert [i.id for i in generation.list_images(session=db, user_id=user.id)] == [ok.id]

    def test_neighbours_follow_the_gallery_order_and_skip_dismissed(
        self, db: Session, user: User
    ) -> None:
        user.plan = "pro_user"
        images = submit(db, user, count=4)
        for image in images[1:]:  # the same instant for three: the id breaks the tie
            image.created_at = images[1].created_at
        db.flush()
        generation.fail_generation(session=db, image_id=images[0].id, reason="nope")
        generation.dismiss_image(session=db, user_id=user.id, image_id=images[0].id)
        db.flush()
        gallery = generation.list_images(session=db, user_id=user.id)
        assert len(gallery) == 3
        walked = [generation.neighbours(session=db, image=image) for image in gallery]
        assert [newer.id if newer else None for newer, _ in walked] == [
            None,
            gallery[0].id,
            gallery[1].id,
        ]
        assert [older.id if older else None for _, older in walked] == [
            gallery[1].id,
            gallery[2].id,
            None,
        ]
        # The browser sorts and pages by the same order, as one string
        keys = [sort_key(i.created_at, i.id) for i in gallery]
        assert keys == sorted(keys, reverse=True)
        assert parse_sort_key(keys[1]) == (gallery[1].created_at, gallery[1].id)


class TestOwnerChecks:
    @pytest.mark.parametrize("action", ["get", "cancel", "delete", "dismiss"])
    def test_another_users_image_is_not_found(self, db: Session, user: User, action: str) -> None:
        (image,) = submit(db, user)
        intruder = create_user(db, name="Mallory")
        calls = {
            "get": lambda: generation.get_image(session=db, user_id=intruder.id, image_id=image.id),
            "cancel": lambda: generation.cancel_generation(
                session=db, user_id=intruder.id, image_id=image.id
            ),
            "delete": lambda: generation.delete_image(
                session=db, user_id=intruder.id, image_id=image.id, delete_file=lambda k, f: None
            ),
            "dismiss": lambda: generation.dismiss_image(
                session=db, user_id=intruder.id, image_id=image.id
            ),
        }
        with pytest.raises(ImageNotFound):
            calls[action]()
        db.refresh(image)
        assert image.status == "queued"
        assert generation.list_images(session=db, user_id=intruder.id) == []

    @pytest.mark.parametrize("bad_id", ["not-a-uuid", "", str(uuid.uuid4())])
    def test_unknown_ids_are_not_found(self, db: Session, user: User, bad_id: str) -> None:
        with pytest.raises(ImageNotFound):
            generation.get_image(session=db, user_id=user.id, image_id=bad_id)

    def test_delete_removes_the_file_after_commit_and_refunds_unfinished(self, engine) -> None:
        removed: list[str] = []
        with session_scope() as db:
            user = create_user(db)
            user_id = user.id
            done, pending = submit(db, user, count=2)
            generation.start_generation(session=db, image_id=done.id)
            generation.complete_generation(
                session=db,
                image_id=done.id,
                image_url="/u",
                storage_key="u/d.png",
                storage_file_id="f1",
                width=1,
                height=1,
                provider="offline",
            )
        with session_scope() as db:
            generation.delete_image(
                session=db,
                user_id=user_id,
                image_id=done.id,
                delete_file=lambda k, f: removed.append(k),
            )
            generation.delete_image(
                session=db,
                user_id=user_id,
                image_id=pending.id,
                delete_file=lambda k, f: removed.append(k),
            )
            assert removed == []
        assert removed == ["u/d.png"]
        with session_scope() as db:
            assert used(db, db.get(User, user_id)) == 1  # the finished one stays paid
            db.delete(db.get(User, user_id))


def test_require_verified_email_holds_back_free_credits(db: Session, user: User) -> None:
    strict = get_settings().model_copy(update={"require_verified_email": True})
    request = generation.validate_request(
        prompt="p", size="1024x1024", quality="low", count=1, style=None
    )
    with pytest.raises(InvalidInput, match="Confirm your email"):
        generation.submit_generation(
            session=db, user=user, request=request, settings=strict, enqueue=lambda ids: None
        )
    user.email_verified = True
    assert (
        len(
            generation.submit_generation(
                session=db, user=user, request=request, settings=strict, enqueue=lambda ids: None
            )
        )
        == 1
    )
    user.email_verified, user.plan = False, "pro_user"  # paying users are not held back
    assert (
        len(
            generation.submit_generation(
                session=db, user=user, request=request, settings=strict, enqueue=lambda ids: None
            )
        )
        == 1
    )
