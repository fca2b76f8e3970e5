"""Single-use links sent by email (confirmation, password reset). Stored as hashes."""

from datetime import datetime
from enum import StrEnum

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.base import Document
from kabinet.documents.settings import WholeDocuments


class TokenPurpose(StrEnum):
    CONFIRM_EMAIL = "confirm_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a secret


class EmailTokenDocument(Document):
    """A link token; ``used_at`` is set atomically on first use."""

    user_id: PydanticObjectId
    purpose: TokenPurpose
    token_hash: str
    created_at: datetime = Field(default_factory=now)
    expires_at: datetime
    used_at: datetime | None = None

    class Settings(WholeDocuments):
        name = "email_tokens"
        indexes = (
            IndexModel([("token_hash", ASCENDING)], unique=True, name="token_hash_unique"),
            IndexModel([("user_id", ASCENDING), ("purpose", ASCENDING)], name="user_purpose"),
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl"),
        )
