"""Credits: atomic debits under real concurrency, window expiry, refunds and the ledger."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from imagegen.db import session_scope
from imagegen.errors import OutOfCredits
from imagegen.models import CreditLedger, User
from imagegen.services import credits
from tests.fixtures.users import create_user

DAY = timedelta(days=1)


class TestDebit:
    def test_debits_until_the_limit_then_refuses(self, db: Session, user: User) -> None:
        allowance = credits.Allowance(limit=3, window=DAY)
        balance = credits.debit(
            session=db, user_id=user.id, amount=2, allowance=allowance, reason="generation"
        )
        assert (balance.used, balance.remaining) == (2, 1)
        with pytest.raises(OutOfCredits) as info:
            credits.debit(
                session=db, user_id=user.id, amount=2, allowance=allowance, reason="generation"
            )
        assert info.value.remaining == 1 and info.value.resets_at is not None
        assert "Out of credits" in str(info.value) and "reset" in str(info.value)
        assert credits.get_balance(session=db, user_id=user.id, allowance=allowance).used == 2

    def test_more_than_the_whole_allowance_is_refused_before_any_write(
        self, db: Session, user: User
    ) -> None:
        with pytest.raises(OutOfCredits):
            credits.debit(
                session=db,
                user_id=user.id,
                amount=11,
                allowance=credits.Allowance(10, DAY),
                reason="x",
            )
        assert (
            credits.get_balance(
                session=db, user_id=user.id, allowance=credits.Allowance(10, DAY)
            ).used
            == 0
        )

    def test_expired_window_starts_over(self, db: Session, user: User) -> None:
        allowance = credits.Allowance(limit=2, window=DAY)
        credits.debit(session=db, user_id=user.id, amount=2, allowance=allowance, reason="x")
        db.execute(
            text("UPDATE usage SET expire = now() - interval '1 second' WHERE key = :k"),
            {"k": credits.usage_key(user.id)},
        )
        assert credits.get_balance(session=db, user_id=user.id, allowance=allowance).used == 0
        balance = credits.debit(
            session=db, user_id=user.id, amount=1, allowance=allowance, reason="x"
        )
        assert balance.used == 1
        assert balance.resets_at is not None

    def test_ledger_rows_per_image(self, db: Session, user: User) -> None:
        from imagegen.models import Image

        images = [Image(user_id=user.id, prompt=f"p{i}") for i in range(3)]
        db.add_all(images)
        db.flush()
        credits.debit(
            session=db,
            user_id=user.id,
            amount=3,
            allowance=credits.Allowance(10, DAY),
            reason="generation",
            image_ids=[i.id for i in images],
        )
        rows = credits.ledger(session=db, user_id=user.id)
        assert sorted(r.amount for r in rows) == [-1, -1, -1]
        assert {r.image_id for r in rows} == {i.id for i in images}


class TestRefund:
    def test_refund_gives_back_and_is_recorded(self, db: Session, user: User) -> None:
        allowance = credits.Allowance(limit=5, window=DAY)
        credits.debit(
            session=db, user_id=user.id, amount=4, allowance=allowance, reason="generation"
        )
        credits.refund(session=db, user_id=user.id, amount=3, reason="refund: generation failed")
        assert credits.get_balance(session=db, user_id=user.id, allowance=allowance).used == 1
        amounts = [
            r.amount for r in db.exec(select(CreditLedger).where(CreditLedger.user_id == user.id))
        ]
        assert sorted(amounts) == [-4, 3]

    def test_refund_never_goes_below_zero(self, db: Session, user: User) -> None:
        allowance = credits.Allowance(limit=5, window=DAY)
        credits.debit(session=db, user_id=user.id, amount=1, allowance=allowance, reason="x")
        credits.refund(session=db, user_id=user.id, amount=3, reason="refund")
        assert credits.get_balance(session=db, user_id=user.id, allowance=allowance).used == 0


def test_200_concurrent_debits_at_a_balance_of_5_exactly_5_succeed(engine) -> None:
    # Given a user with 5 credits, and 32 threads each with its own connection (32, not
    # more: `make test` runs the browser tests' apps beside this, on PostgreSQL's 100)
    with session_scope() as db:
        user_id = create_user(db).id
    allowance = credits.Allowance(limit=5, window=DAY)
    wide = create_engine(engine.url, pool_size=32, max_overflow=0)
    barrier = threading.Barrier(32)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        barrier.wait()
        for _ in range(n):
            with Session(wide) as s:
                try:
                    credits.debit(
                        session=s, user_id=user_id, amount=1, allowance=allowance, reason="race"
                    )
                    s.commit()
                    ok = True
                except OutOfCredits:
                    s.rollback()
                    ok = False
            with lock:
                outcomes.append(ok)

    # When 200 debits race (32 threads: 8 do 7, 24 do 6)
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(worker, [7] * 8 + [6] * 24))
    wide.dispose()

    # Then exactly 5 succeeded, and the database agrees
    assert len(outcomes) == 200
    assert outcomes.count(True) == 5
    with session_scope() as db:
        assert credits.get_balance(session=db, user_id=user_id, allowance=allowance).used == 5
        assert len(credits.ledger(session=db, user_id=user_id, limit=500)) == 5
        db.delete(db.get(User, user_id))


def test_usage_key_is_per_user() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert credits.usage_key(a) != credits.usage_key(b)


def test_extra_credits_are_shown_beside_the_allowance_never_as_negative_use() -> None:
    from imagegen.cards import credits_text, credits_used_text
    from imagegen.services.credits import Balance

    # Free plan (10), 30 granted, 1 used: 39 left, 29 of them extra
    granted = Balance(used=1 - 30, limit=10, resets_at=None)
    assert (granted.remaining, granted.extra) == (39, 29)
    assert credits_text(granted) | {"resets": "", "resets_iso": ""} == {
        "left": 39,
        "limit": 10,
        "extra": 29,
        "resets": "",
        "resets_iso": "",
    }
    plain = Balance(used=3, limit=10, resets_at=None)
    assert (plain.remaining, plain.extra) == (7, 0)
    assert credits_used_text(-50) == "50 extra left"
    assert credits_used_text(3) == "3 used"
