"""The durable outbox: every email and SMS is written here before anyone tries to send it."""

from datetime import datetime
from enum import StrEnum

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.base import Document
from kabinet.documents.settings import WholeDocuments


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxMessageDocument(Document):
    """A message to deliver. The body is scrubbed once it is sent (it may hold a link token),
    and a sent message is deleted at `expires_at` (a TTL index)."""

    channel: Channel
    recipient: str
    subject: str | None = None
    body: str
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=now)
    locked_until: datetime | None = None
    # A new one with each claim: only the sender holding the current claim records a result.
    claim_token: PydanticObjectId | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=now)
    sent_at: datetime | None = None
    expires_at: datetime | None = None
    request_id: str | None = None
    # Set for messages that must go out once only, e.g. `<history entry id>:sms`.
    dedupe_key: str | None = None

    @property
    def idempotency_id(self) -> str:
        """The same on every attempt (the SMS gateway's `Idempotency-Key` and `id`, the
        email's `Message-ID`), so a receiver can drop a repeat: delivery is at least once."""
        return str(self.id)

    class Settings(WholeDocuments):
        name = "outbox"
        indexes = (
            IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="due"),
            # Each sent message carries its own time to go, so changing
            # KABINET_OUTBOX_SENT_RETENTION_DAYS needs no change to the index.
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="sent_expiry"),
            # Deleting an account removes the messages still addressed to it.
            IndexModel([("recipient", ASCENDING)], name="recipient"),
            IndexModel(
                [("dedupe_key", ASCENDING)],
                unique=True,
                partialFilterExpression={"dedupe_key": {"$type": "string"}},
                name="dedupe_unique",
            ),
        )
