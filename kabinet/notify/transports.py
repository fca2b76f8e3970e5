"""Ways out of the outbox: SMTP for email, or the log when nothing is configured."""

import logging
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Protocol

import aiosmtplib
import httpx

from kabinet.config import Settings, SmtpSecurity
from kabinet.documents import OutboxMessageDocument

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The message could not be delivered now; the outbox will try again."""


class Transport(Protocol):
    async def deliver(self, message: OutboxMessageDocument) -> None: ...


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # The sender's domain makes the Message-ID ours; the message's id makes it unique.
        self._domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "kabinet"

    async def deliver(self, message: OutboxMessageDocument) -> None:
        settings = self._settings
        email = EmailMessage()
        email["From"] = settings.smtp_from
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Message-ID"] = f"<{message.idempotency_id}@{self._domain}>"
        email.set_content(message.body)
        try:
            await aiosmtplib.send(
                email,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=settings.smtp_password,
                use_tls=settings.smtp_tls is SmtpSecurity.TLS,
                start_tls=settings.smtp_tls is SmtpSecurity.STARTTLS,
                timeout=settings.smtp_timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP: {_described(error)}") from error


class HttpSmsTransport:
    """POSTs `{"to": "+380...", "text": "...", "id": "..."}` with a bearer token to the SMS
    gateway; `id` and the `Idempotency-Key` header are the message's idempotency id, the
    same on every attempt, so the gateway can drop a repeat.

    Any 2xx answer is delivery; anything else, or no answer, is retried by the outbox.
    """

    def __init__(self, settings: Settings) -> None:
        self._url = settings.sms_gateway_url or ""
        headers = {"User-Agent": "kabinet"}
        if settings.sms_gateway_token:
            headers["Authorization"] = f"Bearer {settings.sms_gateway_token}"
        self._headers = headers
        self._timeout = settings.sms_gateway_timeout_seconds

    async def deliver(self, message: OutboxMessageDocument) -> None:
        key = message.idempotency_id
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(
                    self._url,
                    json={"to": message.recipient, "text": message.body, "id": key},
                    headers={**self._headers, "Idempotency-Key": key},
                )
        except httpx.HTTPError as error:
            raise DeliveryError(f"SMS gateway: {_described(error)}") from error
        if not response.is_success:
            raise DeliveryError(f"SMS gateway answered {response.status_code}")


def _described(error: Exception) -> str:
    """What failed, for `last_error` and the log: the kind of error and its code, not its
    text, which may quote the recipient (a refused address) or the gateway's URL."""
    code = getattr(error, "code", None) or getattr(error, "errno", None)
    return f"{type(error).__name__}{f' {code}' if code else ''}"


class LogTransport:
    """Development stand-in: prints the whole message, so a link in it can be followed.

    In production a message holds secrets (links with tokens, codes) that must not
    reach a log, and pretending it was sent would lose it: there every attempt fails,
    so the message waits in the outbox, retried, until the transport is configured.
    """

    def __init__(self, channel: str, *, production: bool = False) -> None:
        self._channel = channel
        self._production = production

    async def deliver(self, message: OutboxMessageDocument) -> None:
        if self._production:
            raise DeliveryError(f"no {self._channel} transport is configured")
        logger.warning(
            "no %s transport configured; message %s to %s:\n%s\n%s",
            self._channel,
            message.id,
            message.recipient,
            message.subject or "",
            message.body,
        )
