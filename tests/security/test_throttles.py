"""Throttles count the person, not the spelling: sign-in failures and reset requests share one
budget across every spelling of an address; sign-ins are limited per IP across all emails;
registrations are limited per IP; password hashing runs a bounded number at a time."""

import threading
import time

import pytest
from sqlmodel import func, select
from starlette.testclient import TestClient

from imagegen import routes, security
from imagegen.db import session_scope
from imagegen.models import User
from imagegen.redis_client import get_redis
from imagegen.services import flash
from imagegen.settings import Settings
from tests.fixtures.users import DEFAULT_PASSWORD, create_user, unique_email


def _message(response) -> str:
    location = response.headers["location"]
    assert "flash=" in location, location
    return flash.pop(get_redis(), location.split("flash=")[1].split("&")[0]) or ""


def spellings(email: str, count: int) -> list[str]:
    """Different spellings of one address that the user lookup treats as the same: letters of
    the domain in fullwidth form (U+FF45 for e), in every combination (2^7 for example.com)."""
    local, domain = email.split("@")
    letters = [i for i, c in enumerate(domain) if c.isalpha()]
    out = []
    for mask in range(count):
        chars = list(domain)
        for bit, index in enumerate(letters):
            if mask >> bit & 1:
                chars[index] = chr(ord(chars[index]) - ord("a") + ord("ａ"))
        out.append(f"{local}@{''.join(chars)}")
    return out


@pytest.fixture
def victim() -> str:
    email = unique_email("victim")
    with session_scope() as db:
        create_user(db, email=email)
    return email


def test_every_spelling_of_an_email_shares_one_failure_budget(client: TestClient, victim) -> None:
    # Given five wrong passwords, each under another spelling of the victim's address
    tries = spellings(victim, 7)
    assert len(set(tries)) == 7
    for spelling in tries[:5]:
        wrong = client.post(routes.API_LOGIN, data={"email": spelling, "password": "guess-guess"})
        assert _message(wrong) == "Invalid email or password."
    # Then a sixth spelling is refused before the password is even checked, even the right one
    for spelling in tries[5:]:
        refused = client.post(
            routes.API_LOGIN, data={"email": spelling, "password": DEFAULT_PASSWORD}
        )
        assert "set-cookie" not in refused.headers
        assert _message(refused).startswith("Too many failed attempts.")


def test_reset_requests_to_one_address_share_one_budget(client: TestClient, victim, inbox) -> None:
    for spelling in spellings(victim, 8):
        client.post(routes.API_FORGOT_PASSWORD, data={"email": spelling})
    mails = [m for m in inbox.messages if m["To"] == victim]
    assert len(mails) == 5


def test_sign_ins_are_limited_per_ip_across_emails(client: TestClient, limits) -> None:
    limits(LOGIN_PER_IP_PER_MINUTE="30")
    answers = [
        _message(
            client.post(routes.API_LOGIN, data={"email": unique_email(), "password": "whatever1"})
        )
        for _ in range(31)
    ]
    assert answers[:30] == ["Invalid email or password."] * 30
    assert answers[30].startswith("Too many sign-in attempts from your network. Try again in ")
    assert answers[30].endswith("seconds.") or answers[30].endswith("second.")


def test_the_sixth_registration_from_one_ip_is_refused_with_the_wait(
    client: TestClient, limits
) -> None:
    limits(REGISTRATIONS_PER_IP_PER_HOUR="5")
    # A form error is not an account: it does not use up the budget
    bad = client.post(routes.API_REGISTER, data={"name": "", "email": "x", "password": "short"})
    assert _message(bad)
    emails = [unique_email("farm") for _ in range(6)]
    answers = [
        client.post(
            routes.API_REGISTER, data={"name": "Farm", "email": email, "password": DEFAULT_PASSWORD}
        )
        for email in emails
    ]
    assert all("set-cookie" in answer.headers for answer in answers[:5])
    assert "set-cookie" not in answers[5].headers
    message = _message(answers[5])
    assert message.startswith("Too many new accounts from your network. Try again in ")
    assert message.endswith(("minutes.", "minute."))
    with session_scope() as db:
        made = db.exec(select(func.count()).where(User.email.in_(emails))).one()  # type: ignore[attr-defined]
    assert made == 5


def test_parallel_registrations_cannot_race_past_the_limit(limits, engine, redis_client) -> None:
    from imagegen.http.app import build_api

    limits(REGISTRATIONS_PER_IP_PER_HOUR="5")
    emails = [unique_email("race") for _ in range(20)]

    def register(email: str) -> None:
        with TestClient(build_api(), base_url="http://localhost:3000") as client:
            client.post(
                routes.API_REGISTER,
                data={"name": "Race", "email": email, "password": DEFAULT_PASSWORD},
                follow_redirects=False,
            )

    threads = [threading.Thread(target=register, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with session_scope() as db:
        made = db.exec(select(func.count()).where(User.email.in_(emails))).one()  # type: ignore[attr-defined]
    assert made == 5


def test_free_credits_need_a_verified_email_in_production_by_default() -> None:
    base = {"secret_key": "s" * 40, "database_url": "postgresql://x/y", "redis_url": "redis://x"}
    assert Settings(_env_file=None, app_env="production", **base).require_verified_email is True
    assert Settings(_env_file=None, app_env="development", **base).require_verified_email is False
    assert Settings(_env_file=None, app_env="testing", **base).require_verified_email is False
    explicit = Settings(_env_file=None, app_env="production", require_verified_email=False, **base)
    assert explicit.require_verified_email is False


def test_password_hashing_runs_at_most_one_per_core() -> None:
    running, peak, lock = 0, 0, threading.Lock()
    original = security._passwords.hash

    def counting_hash(secret: str, **kwargs) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.05)
            return original(secret, **kwargs)
        finally:
            with lock:
                running -= 1

    security._passwords.hash = counting_hash  # type: ignore[method-assign]
    try:
        threads = [
            threading.Thread(target=security.hash_password, args=(f"password-{n}",))
            for n in range(12)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        security._passwords.hash = original  # type: ignore[method-assign]
    assert peak <= security.HASHING_SLOTS
