"""Sending mail with the standard library's SMTP client, behind a small interface the tests replace.

`NRM_SMTP_URL` names the server: `smtp://host[:port]` (port 25; STARTTLS whenever the server offers it) or
`smtps://host[:port]` (port 465, TLS from the start), with an optional `user:password@` (percent-encoded).
Certificates are checked against the system's authorities.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

from app.config import Settings


class Mailer(Protocol):
    """Hands a message to a mail server; raises `OSError` or `smtplib.SMTPException` when it could not."""

    def send(self, message: EmailMessage) -> None: ...


@dataclass
class SmtpMailer:
    url: str
    timeout: float = 30.0
    tls: ssl.SSLContext = field(default_factory=ssl.create_default_context)

    def send(self, message: EmailMessage) -> None:
        parts = urlsplit(self.url)
        host = parts.hostname or "localhost"
        client: smtplib.SMTP
        if parts.scheme == "smtps":
            client = smtplib.SMTP_SSL(host, parts.port or 465, timeout=self.timeout, context=self.tls)
        else:
            client = smtplib.SMTP(host, parts.port or 25, timeout=self.timeout)
        with client:
            client.ehlo()
            if parts.scheme == "smtp" and client.has_extn("starttls"):
                client.starttls(context=self.tls)
                client.ehlo()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)


def mailer_from(settings: Settings) -> Mailer | None:
    """The mailer `NRM_SMTP_URL` names, or None when alerts are to show in the web application only."""
    return SmtpMailer(settings.smtp_url) if settings.smtp_url else None
