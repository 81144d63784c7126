"""Test configuration: real PostgreSQL and Redis on this machine, a fresh database per session.

Environment is set before any imagegen module reads settings.
"""

import os
import secrets

import pytest

_DB_NAME = f"imagegen_test_{os.getpid()}"
_PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")

os.environ["APP_ENV"] = "testing"
os.environ["DATABASE_URL"] = _PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{_DB_NAME}"
os.environ["REDIS_URL"] = _REDIS_URL
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
# Short limits so retry and timeout paths run in seconds.
os.environ["GENERATION_TIME_LIMIT_SECONDS"] = "2"
os.environ["GENERATION_MAX_RETRIES"] = "2"
os.environ["OFFLINE_DELAY_SECONDS"] = "0.5"
# Every test signs in and registers from 127.0.0.1: generous per-IP budgets here, tight ones
# set explicitly by the tests of those limits (tests/security/test_throttles.py).
os.environ["LOGIN_PER_IP_PER_MINUTE"] = "100000"
os.environ["REGISTRATIONS_PER_IP_PER_HOUR"] = "100000"
# Polar: webhooks are signed with this secret by the tests, as Polar would.
os.environ["POLAR_WEBHOOK_SECRET"] = "whsec_imagegen_test_secret"
os.environ["POLAR_PRO_PRODUCT_ID"] = "prod_pro_test"
os.environ["POLAR_GOLD_PRODUCT_ID"] = "prod_gold_test"
for _name in ("OPENAI_API_KEY", "IMAGEKIT_PRIVATE_KEY", "POLAR_ACCESS_TOKEN", "SMTP_HOST"):
    os.environ.pop(_name, None)

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.redis",
    "tests.fixtures.smtp",
    "tests.fixtures.users",
    "tests.fixtures.live",
    "tests.fixtures.ports",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """A failed test that ran against a live app reports the tail of that app's log."""
    report = yield
    if report.failed:
        from tests.support.stack import RUNNING_LOGS, log_tail

        for log in RUNNING_LOGS:
            report.sections.append((f"app log {log.parent.name} (tail)", log_tail(log)))
    return report
