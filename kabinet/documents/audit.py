"""Who changed what, when: every staff action, kept for review."""

from datetime import datetime
from typing import Any

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.settings import WholeDocuments


class AuditEventDocument(Document):
    """One action; ``before`` and ``after`` hold the changed fields."""

    at: datetime = Field(default_factory=now)
    actor_id: PydanticObjectId | None
    actor_role: str | None
    action: str
    target_type: str
    target_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    request_id: str | None = None

    class Settings(WholeDocuments):
        name = "audit_events"
        indexes = (
            IndexModel([("at", DESCENDING)], name="at"),
            IndexModel([("target_type", ASCENDING), ("target_id", ASCENDING)], name="target"),
        )
