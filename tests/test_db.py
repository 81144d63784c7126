"""The two ways to the database: `session_scope` (one transaction, committed at the end) and
`statement_scope` (no transaction: the relay's reads and the worker's one-statement moves, one
round trip each)."""

import time
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlmodel import Session

from imagegen.db import session_scope, statement_scope

pytestmark = pytest.mark.usefixtures("engine")


def _two_clocks(db: Session) -> tuple[datetime, datetime]:
    """PostgreSQL's now() (the transaction's start) read twice, 20 ms apart."""
    first = db.exec(text("select now()")).one()[0]  # type: ignore[call-overload]
    time.sleep(0.02)
    second = db.exec(text("select now()")).one()[0]  # type: ignore[call-overload]
    return first, second


def test_session_scope_is_one_transaction() -> None:
    with session_scope() as db:
        first, second = _two_clocks(db)
    assert first == second


def test_statement_scope_runs_each_statement_outside_any_transaction() -> None:
    with statement_scope() as db:
        first, second = _two_clocks(db)
    assert second > first


def test_statement_scope_leaves_the_pooled_connection_transactional() -> None:
    with statement_scope() as db:
        db.exec(text("select 1")).one()  # type: ignore[call-overload]
    # The same pool hands the connection back out: session_scope's transaction holds.
    with session_scope() as db:
        first, second = _two_clocks(db)
    assert first == second
