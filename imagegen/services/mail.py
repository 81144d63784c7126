"""Sending account emails once the transaction that issued their token has committed."""

import logging

from sqlmodel import Session

from imagegen.db import after_commit
from imagegen.providers.compose import get_providers
from imagegen.providers.mailer import Mailer
from imagegen.services.accounts import Outgoing

log = logging.getLogger(__name__)


def get_mailer() -> Mailer:
    """This process's mailer (SMTP, or the outbox folder)."""
    return get_providers().mailer


def send_after_commit(session: Session, message: Outgoing) -> None:
    """Queue `message` to be sent after commit; a failure is logged (the user can ask again)."""

    def send() -> None:
        try:
            get_mailer().send(to=message.to, subject=message.subject, text=message.text)
        except Exception:
            log.exception("could not send %r to %s", message.subject, message.to)

    after_commit(session, send)
