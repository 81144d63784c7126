"""Actor `export.build`: prepare one "Export my data" archive, and email its link when mail
is configured (SMTP_HOST).
"""

import logging
import uuid
from typing import Any

import dramatiq

from imagegen import logs
from imagegen.db import session_scope
from imagegen.providers.compose import get_storage
from imagegen.services import exports, mail
from imagegen.services.accounts import Outgoing
from imagegen.settings import get_settings
from workers import broker  # noqa: F401  (sets the broker before the actor is declared)

log = logging.getLogger(__name__)


def _mail(message: Outgoing) -> None:
    try:
        mail.get_mailer().send(to=message.to, subject=message.subject, text=message.text)
    except Exception:  # the link is on the account page too
        log.exception("could not email the export link to %s", message.to)


@dramatiq.actor(
    actor_name="export.build",
    queue_name="exports",
    max_retries=3,
    min_backoff=5_000,
    max_backoff=60_000,
    time_limit=60 * 60 * 1000,
)
def export_data(export_id: str) -> None:
    """Build the archive of one pending export (idempotent: anything else is skipped)."""
    settings = get_settings()
    outcome = exports.build_export(
        session_factory=session_scope,
        export_id=uuid.UUID(export_id),
        storage=get_storage(),
        data_dir=settings.data_dir,
        link_hours=settings.export_link_hours,
        backend_url=settings.backend_url,
        mail=_mail if settings.smtp_host else None,
    )
    log.info("export %s: %s", export_id, outcome)


def enqueue_export(export_id: str) -> None:
    """Send the message (called after the requesting transaction commits)."""
    options: dict[str, Any] = {"request_id": rid} if (rid := logs.request_id.get()) else {}
    export_data.send_with_options(args=(export_id,), **options)
