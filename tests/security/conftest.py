"""Helpers for the attacker-style tests: tight limits set for one test, a test client."""

from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from imagegen.http.app import build_api
from imagegen.settings import get_settings


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """`limits(LOGIN_PER_IP_PER_MINUTE="30", ...)`: settings for this test only."""

    def set_limits(**env: str) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_limits
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def client(engine, redis_client) -> TestClient:
    """The HTTP routes, as a browser on this host sees them."""
    return TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False)


@pytest.fixture
def inbox(smtp_server, swap_ports):
    """Outgoing mail goes to a real SMTP server on loopback; returns what it received."""
    from imagegen.providers.mailer import SmtpMailer

    box, port = smtp_server
    swap_ports(
        mailer=SmtpMailer(
            host="127.0.0.1", port=port, sender="imagegen <no-reply@localhost>", starttls=False
        )
    )
    return box
