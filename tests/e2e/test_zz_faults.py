"""Redis killed and restarted (empty) while an image is generating and two tabs are open:
the worker and the relay reconnect, the image still completes and shows in both tabs, and the
same tabs keep working without a reload. The app runs on a Redis server of its own."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import text

from imagegen.db import session_scope
from tests.e2e.test_auth_flow import register
from tests.fixtures.users import unique_email
from tests.support.stack import free_port, private_redis, running_app

pytestmark = pytest.mark.e2e


def _generate(page, prompt: str) -> None:
    page.get_by_role("textbox", name="Prompt").fill(prompt)
    page.get_by_role("button", name="Generate").click()


def _seconds_since_completed(email: str, prompt: str) -> float:
    """How long ago (database clock) the user's image with this prompt completed."""
    with session_scope() as db:
        return float(
            db.execute(
                text(
                    "SELECT extract(epoch FROM now() - i.completed_at) FROM image i "
                    'JOIN "user" u ON u.id = i.user_id WHERE u.email = :e AND i.prompt = :p'
                ),
                {"e": email, "p": prompt},
            ).scalar_one()
        )


def _status(email: str) -> list[str]:
    with session_scope() as db:
        return list(
            db.execute(
                text(
                    'SELECT i.status FROM image i JOIN "user" u ON u.id = i.user_id '
                    "WHERE u.email = :e"
                ),
                {"e": email},
            ).scalars()
        )


def test_redis_restart_during_generation_with_tabs_open(
    browser: Browser, engine, tmp_path: Path
) -> None:
    port = free_port()
    with private_redis(port) as restart_redis:
        env = {
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "DATA_DIR": str(tmp_path / "data"),
            "OFFLINE_DELAY_SECONDS": "4",
        }
        with running_app(env, tmp_path / "server.log") as url:
            context = browser.new_context(base_url=url)
            first = context.new_page()
            email = unique_email("outage")
            register(first, email)
            second = context.new_page()
            second.goto("/")
            expect(second.get_by_text("No images yet")).to_be_visible()

            before = "Painted while Redis went away"
            _generate(first, before)
            card = first.locator("[data-testid=image-card][data-status=generating]")
            expect(card).to_have_count(1, timeout=15_000)
            # SIGKILL mid-generation; back, empty, once the worker finished the image without
            # it (the provider call needs no Redis), so its notification is lost for sure.
            restart_redis(until=lambda: _status(email) == ["completed"])

            # Both tabs still show it: their reconcile fetch (every 15 s while a card is in
            # progress) finds what the lost notification would have pushed.
            for tab in (first, second):
                expect(tab.get_by_role("img", name=before)).to_be_visible(timeout=45_000)

            # The same tabs, no reload: the next image goes through the new Redis, live.
            after = "Painted after Redis came back"
            _generate(second, after)
            # The worker's consumer reconnects with Dramatiq's own back-off first, so the job
            # may start late; what must be fast is the push once it completed.
            for tab in (first, second):
                expect(tab.get_by_role("img", name=after)).to_be_visible(timeout=60_000)
                expect(tab.get_by_text("8 credits left")).to_be_visible()
            shown_after = _seconds_since_completed(email, after)
            assert shown_after < 14  # pushed, not found by the 15 s reconcile
            context.close()

    with session_scope() as db:
        rows = db.execute(
            text(
                'SELECT i.status, count(*) FROM image i JOIN "user" u ON u.id = i.user_id '
                "WHERE u.email = :e GROUP BY i.status"
            ),
            {"e": email},
        ).all()
        charges = db.execute(
            text(
                'SELECT sum(l.amount) FROM credit_ledger l JOIN "user" u ON u.id = l.user_id '
                "WHERE u.email = :e"
            ),
            {"e": email},
        ).scalar_one()
    assert dict(rows) == {"completed": 2}
    assert charges == -2  # charged once per image, nothing refunded
