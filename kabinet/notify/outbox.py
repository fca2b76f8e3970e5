"""The durable outbox and its sender.

A use case writes the message to the ``outbox`` collection; the sender (one
background task per API process) claims due messages with an atomic update that
leases them and gives the claim a token, delivers them and retries with exponential
backoff. Only the holder of the current claim records a result, but a sender whose
lease ran out mid-send has still sent: delivery is at least once, and the message's
idempotency id lets the receiver drop a repeat. A message that keeps failing is
marked dead, never deleted, so nothing is lost silently; a sent one expires after
the configured retention.
"""

import asyncio
import contextlib
import logging
from datetime import timedelta

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kabinet import logs, metrics
from kabinet.clock import now
from kabinet.config import Settings
from kabinet.documents import Channel, OutboxMessageDocument, OutboxStatus
from kabinet.notify.templates import EmailContent
from kabinet.notify.transports import (
    DeliveryError,
    HttpSmsTransport,
    LogTransport,
    SmtpTransport,
    Transport,
)

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(minutes=30)
DELIVERED_BODY = "[delivered; content removed]"


def mask_recipient(recipient: str) -> str:
    """Enough of an address or phone to recognise it in a log, not to use it."""
    name, at, domain = recipient.partition("@")
    if at:
        return f"{name[:2]}***@{domain}"
    return f"{recipient[:4]}***{recipient[-2:]}"


def while_claimed(message: OutboxMessageDocument) -> dict[str, object]:
    """The message, only while the claim this sender made holds: a sender whose lease ran
    out mid-send must not overwrite the result of the one that claimed the message next
    (set a sent message back to pending, or record it sent a second time)."""
    return {
        "_id": message.id,
        "claim_token": message.claim_token,
        "status": OutboxStatus.PENDING.value,
    }


class Outbox:
    """Writes messages durably and delivers them in the background."""

    def __init__(
        self, settings: Settings, transports: dict[Channel, Transport] | None = None
    ) -> None:
        self._settings = settings
        self._transports = transports or {
            Channel.EMAIL: SmtpTransport(settings)
            if settings.smtp_host
            else LogTransport("email", production=settings.production),
            Channel.SMS: HttpSmsTransport(settings)
            if settings.sms_gateway_url
            else LogTransport("SMS", production=settings.production),
        }
        self._wake = asyncio.Event()

    async def send_email(
        self,
        recipient: str,
        content: EmailContent,
        *,
        request_id: str | None = None,
        dedupe_key: str | None = None,
    ) -> bool:
        return await self._enqueue(
            OutboxMessageDocument(
                channel=Channel.EMAIL,
                recipient=recipient,
                subject=content.subject,
                body=content.body,
                request_id=request_id,
                dedupe_key=dedupe_key,
            )
        )

    async def send_sms(
        self,
        recipient: str,
        text: str,
        *,
        request_id: str | None = None,
        dedupe_key: str | None = None,
    ) -> bool:
        return await self._enqueue(
            OutboxMessageDocument(
                channel=Channel.SMS,
                recipient=recipient,
                body=text,
                request_id=request_id,
                dedupe_key=dedupe_key,
            )
        )

    async def _enqueue(self, message: OutboxMessageDocument) -> bool:
        """Store the message; ``False`` when its `dedupe_key` was already sent or queued.
        Without an explicit request id it takes the current one (a status change's)."""
        message.request_id = message.request_id or logs.request_id.get()
        try:
            await message.insert()
        except DuplicateKeyError:
            return False
        self._wake.set()
        return True

    async def backlog(self) -> dict[Channel, int]:
        """Messages waiting to be sent (retries included), by channel."""
        collection = OutboxMessageDocument.get_pymongo_collection()
        pending = OutboxStatus.PENDING.value
        return {
            channel: await collection.count_documents({"status": pending, "channel": channel.value})
            for channel in Channel
        }

    async def deliver_due(self) -> int:
        """Deliver every message that is due now; the number attempted."""
        attempted = 0
        while (message := await self._claim()) is not None:
            attempted += 1
            await self.deliver(message)
        return attempted

    async def run(self) -> None:
        """The sender loop: wakes on new messages or every poll interval."""
        while True:
            try:
                await self.deliver_due()
            except Exception:  # the loop must survive a database hiccup
                logger.exception("outbox sender failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.outbox_poll_seconds)

    async def _claim(self) -> OutboxMessageDocument | None:
        moment = now()
        raw = await OutboxMessageDocument.get_pymongo_collection().find_one_and_update(
            {
                "status": OutboxStatus.PENDING.value,
                "next_attempt_at": {"$lte": moment},
                "$or": [{"locked_until": None}, {"locked_until": {"$lte": moment}}],
            },
            {
                "$set": {"locked_until": moment + CLAIM_LEASE, "claim_token": ObjectId()},
                "$inc": {"attempts": 1},
            },
            sort=[("next_attempt_at", 1)],
            return_document=ReturnDocument.AFTER,
        )
        return None if raw is None else OutboxMessageDocument.model_validate(raw)

    async def deliver(self, message: OutboxMessageDocument) -> None:
        """Send a message this sender claimed and record the outcome if the claim holds."""
        # The sender's log lines about a message carry the id of the request that wrote it.
        token = logs.request_id.set(message.request_id)
        try:
            await self._send(message)
        finally:
            logs.request_id.reset(token)

    async def _send(self, message: OutboxMessageDocument) -> None:
        try:
            await self._transports[message.channel].deliver(message)
        except DeliveryError as error:
            await self._failed(message, str(error))
            return
        except Exception as error:  # a transport bug must not lose the message
            logger.exception("outbox transport crashed on message %s", message.id)
            await self._failed(message, f"{type(error).__name__}: {error}")
            return
        moment = now()
        marked = await OutboxMessageDocument.get_pymongo_collection().update_one(
            while_claimed(message),
            {
                "$set": {
                    "status": OutboxStatus.SENT.value,
                    "sent_at": moment,
                    "expires_at": moment + self._settings.outbox_sent_retention,
                    "locked_until": None,
                    "last_error": None,
                    "body": DELIVERED_BODY,
                }
            },
        )
        metrics.OUTBOX_DELIVERED.labels(message.channel.value).inc()
        if not marked.matched_count:
            logger.warning(
                "outbox %s message %s to %s was sent after its claim passed to another "
                "sender: it may arrive twice (the receiver can drop the repeat by its id)",
                message.channel,
                message.id,
                mask_recipient(message.recipient),
            )
            return
        logger.info(
            "outbox delivered %s message %s to %s",
            message.channel,
            message.id,
            mask_recipient(message.recipient),
        )

    async def _failed(self, message: OutboxMessageDocument, error: str) -> None:
        settings = self._settings
        dead = message.attempts >= settings.outbox_max_attempts
        delay = min(
            timedelta(seconds=settings.outbox_retry_base_seconds * 2 ** (message.attempts - 1)),
            MAX_BACKOFF,
        )
        recorded = await OutboxMessageDocument.get_pymongo_collection().update_one(
            while_claimed(message),
            {
                "$set": {
                    "status": (OutboxStatus.DEAD if dead else OutboxStatus.PENDING).value,
                    "next_attempt_at": now() + delay,
                    "locked_until": None,
                    "last_error": error[:500],
                }
            },
        )
        if not recorded.matched_count:
            logger.warning(
                "outbox %s message %s to %s failed after its claim passed to another sender, "
                "whose result stands: %s",
                message.channel,
                message.id,
                mask_recipient(message.recipient),
                error,
            )
            return
        metrics.OUTBOX_FAILURES.labels(message.channel.value, str(dead).lower()).inc()
        log = logger.error if dead else logger.warning
        log(
            "outbox %s message %s to %s failed (attempt %d%s): %s",
            message.channel,
            message.id,
            mask_recipient(message.recipient),
            message.attempts,
            ", giving up" if dead else f", retry in {delay.total_seconds():.0f} s",
            error,
        )
