"""Forgot/reset password and email verification routes, with mail through a real SMTP server."""

import re

import pytest
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.db import session_scope
from imagegen.http.app import build_api
from imagegen.models import User
from imagegen.providers.mailer import SmtpMailer
from imagegen.redis_client import get_redis
from imagegen.services import auth, flash
from tests.fixtures.users import DEFAULT_PASSWORD, create_user, unique_email

pytestmark = pytest.mark.usefixtures("engine", "redis_client")


@pytest.fixture
def inbox(smtp_server, swap_ports):

    box, port = smtp_server
    swap_ports(
        mailer=SmtpMailer(
            host="127.0.0.1", port=port, sender="imagegen <no-reply@localhost>", starttls=False
        )
    )
    return box


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False)


def test_forgot_then_reset_then_sign_in(client: TestClient, inbox) -> None:
    email = unique_email("forgetful")
    with session_scope() as db:
        user = create_user(db, email=email)
        auth.create_session(session=db, user=user, ip_address=None, user_agent="old device")
    response = client.post(routes.API_FORGOT_PASSWORD, data={"email": email})
    assert response.status_code == 303 and response.headers["location"] == "/forgot-password?sent=1"
    assert inbox.messages[-1]["To"] == email
    link = re.search(r"http://\S+/reset-password\?token=([\w-]+)", inbox.body()).group(0)
    token = link.split("token=")[1]

    response = client.post(
        routes.API_RESET_PASSWORD, data={"token": token, "password": "a-new-password-9"}
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/login?flash=")
    flash_id = response.headers["location"].split("flash=")[1]
    assert (
        flash.pop(get_redis(), flash_id) == "Your password was changed. Sign in with the new one."
    )
    with session_scope() as db:
        uid = db.exec(auth.select(User).where(User.email == email)).one().id
        assert (
            db.exec(auth.select(auth.UserSession).where(auth.UserSession.user_id == uid)).all()
            == []
        )
    login = client.post(routes.API_LOGIN, data={"email": email, "password": "a-new-password-9"})
    assert login.headers["location"] == "/"
    again = client.post(
        routes.API_RESET_PASSWORD, data={"token": token, "password": "yet-another-one"}
    )
    assert again.headers["location"].startswith("/reset-password?")
    flash_id = again.headers["location"].split("flash=")[1].split("&")[0]
    assert "already been used" in flash.pop(get_redis(), flash_id)


def test_forgot_answers_the_same_for_unknown_emails(client: TestClient, inbox) -> None:
    response = client.post(routes.API_FORGOT_PASSWORD, data={"email": unique_email("ghost")})
    assert response.headers["location"] == "/forgot-password?sent=1"
    assert inbox.messages == []


def test_reset_requests_are_throttled(client: TestClient, inbox) -> None:
    email = unique_email("spammy")
    with session_scope() as db:
        create_user(db, email=email)
    for _ in range(5):
        client.post(routes.API_FORGOT_PASSWORD, data={"email": email})
    sixth = client.post(routes.API_FORGOT_PASSWORD, data={"email": email})
    assert sixth.headers["location"].startswith("/forgot-password?flash=")
    assert len(inbox.messages) == 5


def test_registration_sends_a_verification_link_that_works_once(client: TestClient, inbox) -> None:
    email = unique_email("newbie")
    client.post(
        routes.API_REGISTER, data={"name": "New", "email": email, "password": DEFAULT_PASSWORD}
    )
    link = re.search(r"http://\S+/api/auth/verify-email\?token=[\w-]+", inbox.body()).group(0)
    path = link.split("http://localhost:3000")[1]
    first = client.get(path)
    assert first.status_code == 303 and first.headers["location"].startswith("/?flash=")
    assert (
        flash.pop(get_redis(), first.headers["location"].split("flash=")[1])
        == "Thanks, your email address is confirmed."
    )
    with session_scope() as db:
        assert db.exec(auth.select(User).where(User.email == email)).one().email_verified
    second = client.get(path)
    assert "already been used" in flash.pop(
        get_redis(), second.headers["location"].split("flash=")[1]
    )
