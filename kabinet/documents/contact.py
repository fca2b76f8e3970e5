"""Contacts (guide 2.2): phones and emails, each confirmed by a code sent to it."""

from datetime import datetime
from enum import StrEnum
from typing import Self

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.base import Document
from kabinet.documents.settings import WholeDocuments


class ContactKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"


class ContactDocument(Document):
    """A contact of one account; the pending code is kept only as a salted hash."""

    user_id: PydanticObjectId
    kind: ContactKind
    value: str
    verified: bool = False
    verified_at: datetime | None = None
    created_at: datetime = Field(default_factory=now)
    code_hash: str | None = None
    code_salt: str | None = None
    code_expires_at: datetime | None = None
    code_attempts_left: int = 0
    code_sent_at: datetime | None = None
    code_sends: list[datetime] = Field(default_factory=list)

    @classmethod
    def confirmed(cls, user_id: PydanticObjectId, kind: ContactKind, value: str) -> Self:
        """A contact added and confirmed now, as seeding and data loads write one (the code
        round trip is the API's; nothing here sends one)."""
        moment = now()
        return cls(
            user_id=user_id,
            kind=kind,
            value=value,
            verified=True,
            verified_at=moment,
            created_at=moment,
        )

    class Settings(WholeDocuments):
        name = "contacts"
        indexes = (
            IndexModel(
                [("user_id", ASCENDING), ("value", ASCENDING)], unique=True, name="user_value"
            ),
            # A phone identifies the insured person's cards: verified on one account at a time.
            IndexModel(
                [("value", ASCENDING)],
                unique=True,
                partialFilterExpression={"verified": True, "kind": ContactKind.PHONE.value},
                name="verified_phone_unique",
            ),
        )
