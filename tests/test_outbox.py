"""The durable outbox: nothing is lost while SMTP is down, a sender that lost its claim
changes nothing, and sent messages expire."""

import asyncio
from datetime import timedelta

import pytest
from beanie import PydanticObjectId

from kabinet.clock import clock, now
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import Channel, OutboxMessageDocument, OutboxStatus
from kabinet.notify.outbox import CLAIM_LEASE, Outbox
from kabinet.notify.transports import HttpSmsTransport, SmtpTransport, Transport
from tests.accounts import register
from tests.support import Api, Mailbox, SmsGateway, eventually

EMAIL = "taras@example.com"
PHONE = "+380671234567"


async def failed_attempt(attempts: int = 1) -> OutboxMessageDocument | None:
    message = await OutboxMessageDocument.find_one({})
    return message if message and message.attempts >= attempts and message.last_error else None


async def test_email_is_delivered_once_smtp_comes_back_and_then_expires(
    api: Api, mailbox: Mailbox, settings: Settings, database: Database
):
    mailbox.stop()
    try:
        await register(api, EMAIL)
        waiting = await eventually(failed_attempt)
        assert waiting.status is OutboxStatus.PENDING
        assert waiting.next_attempt_at > clock.now()
        assert waiting.expires_at is None  # kept however long it waits
        assert mailbox.messages == []
    finally:
        mailbox.start()

    clock.advance(timedelta(seconds=31))
    delivered = await mailbox.wait_for(EMAIL)

    assert "confirm-email?token=" in delivered.get_body(("plain",)).get_content()
    sent = await eventually(
        lambda: OutboxMessageDocument.find_one({"status": OutboxStatus.SENT.value})
    )
    assert sent.attempts == 2
    assert len(mailbox.to(EMAIL)) == 1
    assert sent.sent_at is not None
    assert sent.expires_at == sent.sent_at + timedelta(days=settings.outbox_sent_retention_days)
    expiring = [
        index.get("expireAfterSeconds")
        async for index in await database.db["outbox"].list_indexes()
        if list(index["key"]) == ["expires_at"]
    ]
    assert expiring == [0]  # deleted at its `expires_at`


async def test_message_is_kept_as_dead_after_the_last_attempt(api: Api, mailbox: Mailbox):
    mailbox.stop()
    try:
        await register(api, EMAIL)
        await eventually(failed_attempt)
        await OutboxMessageDocument.get_pymongo_collection().update_many(
            {}, {"$set": {"attempts": 11}}
        )
        clock.advance(timedelta(hours=1))
        dead = await eventually(
            lambda: OutboxMessageDocument.find_one({"status": OutboxStatus.DEAD.value})
        )
    finally:
        mailbox.start()

    assert dead.attempts == 12
    assert dead.expires_at is None
    assert "SMTP" in dead.last_error
    assert "confirm-email?token=" in dead.body  # kept, so an operator can still act on it


class Stalled:
    """A sender's transport that stops before sending until released, then sends through
    the real one: a sender held up (a slow gateway, a paused process) past its lease."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def deliver(self, message: OutboxMessageDocument) -> None:
        self.holding.set()
        await self.release.wait()
        await self._transport.deliver(message)


RECIPIENTS = {Channel.SMS: PHONE, Channel.EMAIL: EMAIL}


async def overtaken(
    settings: Settings, channel: Channel
) -> tuple[Stalled, asyncio.Task[None], OutboxMessageDocument]:
    """Sender A holds the claim of a message and stalls mid-send past its lease; the app's
    own sender (B) claims the message again and sends it. A is still to finish; returns
    its transport, its delivery and the message as B recorded it."""
    # As a claim leaves it; the app's sender leaves it alone until the lease runs out.
    message = OutboxMessageDocument(
        channel=channel,
        recipient=RECIPIENTS[channel],
        subject="Код",
        body="Ваш код 123456",
        attempts=1,
        locked_until=now() + CLAIM_LEASE,
        claim_token=PydanticObjectId(),
    )
    await message.insert()
    real = SmtpTransport(settings) if channel is Channel.EMAIL else HttpSmsTransport(settings)
    stalled = Stalled(real)
    sender_a = Outbox(settings, {channel: stalled})
    sending = asyncio.create_task(sender_a.deliver(message))
    await stalled.holding.wait()
    clock.advance(CLAIM_LEASE + timedelta(seconds=1))

    sent = await eventually(
        lambda: OutboxMessageDocument.find_one({"_id": message.id, "status": "sent"})
    )
    assert sent.claim_token not in (None, message.claim_token)  # B's own claim
    assert sent.attempts == 2
    clock.advance(timedelta(seconds=5))  # A finishes later: its record would differ
    return stalled, sending, sent


@pytest.mark.parametrize("channel", [Channel.SMS, Channel.EMAIL])
async def test_a_send_finished_after_the_lease_ran_out_changes_nothing(
    api: Api, settings: Settings, mailbox: Mailbox, sms_gateway: SmsGateway, channel: Channel
):
    stalled, sending, sent = await overtaken(settings, channel)

    stalled.release.set()
    await sending

    assert await OutboxMessageDocument.get(sent.id) == sent
    # Both sends went out (at least once): each carries the message's idempotency id.
    if channel is Channel.SMS:
        assert [sms["id"] for sms in await sms_gateway.wait_for(PHONE, 2)] == [str(sent.id)] * 2
        keys = [headers["idempotency-key"] for headers in sms_gateway.headers]
        assert keys == [str(sent.id)] * 2
    else:
        await eventually(lambda: _received(mailbox, 2))
        ids = [message["Message-ID"] for message in mailbox.to(EMAIL)]
        assert ids == [f"<{sent.id}@cabinet.test>"] * 2


async def _received(mailbox: Mailbox, count: int) -> bool:
    return len(mailbox.to(EMAIL)) >= count


async def test_a_send_failed_after_the_lease_ran_out_leaves_the_message_sent(
    api: Api, settings: Settings, sms_gateway: SmsGateway
):
    stalled, sending, sent = await overtaken(settings, Channel.SMS)
    sms_gateway.down = True

    stalled.release.set()
    await sending

    after = await OutboxMessageDocument.get(sent.id)
    assert after is not None
    assert after.status is OutboxStatus.SENT  # never back to pending, so never sent again
    assert after == sent
