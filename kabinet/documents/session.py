"""Signed-in sessions. Only a hash of the bearer token is stored."""

from datetime import datetime

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.base import Document
from kabinet.documents.settings import WholeDocuments


class SessionDocument(Document):
    """A session lives until ``expires_at``; each use moves it forward (idle timeout)."""

    user_id: PydanticObjectId
    token_hash: str
    created_at: datetime = Field(default_factory=now)
    last_seen_at: datetime = Field(default_factory=now)
    expires_at: datetime
    user_agent: str | None = None
    ip: str | None = None

    class Settings(WholeDocuments):
        name = "sessions"
        indexes = (
            IndexModel([("token_hash", ASCENDING)], unique=True, name="token_hash_unique"),
            IndexModel([("user_id", ASCENDING)], name="user"),
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl"),
        )
