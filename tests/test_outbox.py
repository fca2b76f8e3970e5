"""The durable outbox: nothing is lost while SMTP is down."""

from datetime import timedelta

from kabinet.clock import clock
from kabinet.documents import OutboxMessageDocument, OutboxStatus
from tests.accounts import register
from tests.support import Api, Mailbox, eventually

EMAIL = "taras@example.com"


async def failed_attempt(attempts: int = 1) -> OutboxMessageDocument | None:
    message = await OutboxMessageDocument.find_one({})
    return message if message and message.attempts >= attempts and message.last_error else None


async def test_email_is_delivered_once_smtp_comes_back(api: Api, mailbox: Mailbox):
    mailbox.stop()
    try:
        await register(api, EMAIL)
        waiting = await eventually(failed_attempt)
        assert waiting.status is OutboxStatus.PENDING
        assert waiting.next_attempt_at > clock.now()
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
    assert "SMTP" in dead.last_error
    assert "confirm-email?token=" in dead.body  # kept, so an operator can still act on it
