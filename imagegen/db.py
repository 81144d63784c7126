"""Database engine, the unit-of-work `session_scope()` (the caller owns the transaction) and
`statement_scope()` for statements outside any transaction.
"""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlmodel import Session, create_engine

from imagegen.settings import get_settings

_AFTER_COMMIT = "after_commit"


@functools.lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine (psycopg 3, pre-ping so a restarted PostgreSQL is survived)."""
    return create_engine(
        get_settings().database_url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
    )


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the surrounding `session_scope()` has committed.

    Services use it to send Dramatiq messages or push notifications only for data
    that really exists: a rolled-back transaction sends nothing.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """Open a session, commit on success, roll back on error, then run after-commit callbacks."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        callbacks = session.info.pop(_AFTER_COMMIT, [])
    for callback in callbacks:
        callback()


@functools.lru_cache(maxsize=1)
def _autocommit_engine() -> Engine:
    """The same engine and pool, its connections in autocommit while checked out."""
    return get_engine().execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def statement_scope() -> Iterator[Session]:
    """A session outside any transaction (autocommit): each statement is its own, so one costs
    one round trip to PostgreSQL instead of three (BEGIN, the statement, COMMIT or ROLLBACK).
    For reads that need no snapshot of their own (the relay's) and for single statements that
    are atomic by themselves (the worker's UPDATE … RETURNING moves); never for work of
    several writes that must land together.
    """
    with Session(_autocommit_engine(), expire_on_commit=False) as session:
        yield session
