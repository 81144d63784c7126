"""Mailer port: SMTP when SMTP_HOST is set, else messages written to DATA_DIR/outbox."""

import logging
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from imagegen.models import utcnow
from imagegen.settings import Settings

log = logging.getLogger(__name__)


class Mailer(Protocol):
    """Sends one plain-text email."""

    def send(self, *, to: str, subject: str, text: str) -> None:
        """Send it (errors are the caller's to log; mail is best effort)."""
        ...


def _message(sender: str, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(text)
    return message


class SmtpMailer:
    """smtplib with optional STARTTLS and login."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
    ) -> None:
        """Keep the connection settings."""
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls = user, password, starttls

    def send(self, *, to: str, subject: str, text: str) -> None:
        """Open a connection, send, close."""
        with smtplib.SMTP(self.host, self.port, timeout=15) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(_message(self.sender, to, subject, text))


class OutboxMailer:
    """Writes each message as an .eml file (and logs where), so `make run` works offline."""

    def __init__(self, *, folder: Path, sender: str) -> None:
        """Write under `folder`."""
        self.folder, self.sender = Path(folder), sender

    def send(self, *, to: str, subject: str, text: str) -> None:
        """Write the message."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{utcnow():%Y%m%dT%H%M%S%f}-{to.replace('@', '_at_')}.eml"
        path.write_bytes(bytes(_message(self.sender, to, subject, text)))
        log.info("email to %s written to %s", to, path)


def build_mailer(settings: Settings) -> Mailer:
    """SMTP with SMTP_HOST, the outbox folder without."""
    if settings.smtp_host:
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    return OutboxMailer(folder=settings.data_dir / "outbox", sender=settings.smtp_from)
