"""The insurers' policy registry (guide section 3): the cards people see in the cabinet."""

from datetime import date, datetime
from enum import StrEnum

from beanie import Document, Insert, Replace, Save, before_event
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.search_keys import keyed
from kabinet.documents.settings import WholeDocuments


class PolicyStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"


class Relationship(StrEnum):
    """Of the insured person to the owner of the policy's phone."""

    SELF = "self"
    CHILD = "child"
    SPOUSE = "spouse"
    OTHER = "other"


class InsuredPerson(BaseModel):
    full_name: str
    birth_date: date | None = None


class PolicyDocument(Document):
    """One insurance card; `phones` (E.164) are the ones the insurer holds for it."""

    number: str
    insurer: str
    program: str
    status: PolicyStatus
    valid_from: date
    valid_to: date
    insured_person: InsuredPerson
    phones: list[str] = Field(default_factory=list)
    relationship: Relationship = Relationship.SELF
    coverage_notes: str | None = None
    # What staff search by (kabinet.documents.search_keys); derived from the number,
    # the insured person's name and the phones, rewritten with any of them.
    search_keys: list[str] = Field(default_factory=list)
    # The scheme those keys follow (SEARCH_KEYS_VERSION); 0 on cards stored before it.
    search_keys_version: int = 0
    # Links to the card's verification page issued at or before this moment are revoked
    # (`revokeCardLinks`); not part of the registry, so an import keeps it.
    card_links_valid_after: datetime | None = None
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)

    def in_force(self, day: date) -> bool:
        """Whether the card can be used on ``day``: active in the registry and within its
        validity (a registry row can say active after its last day)."""
        return self.status is PolicyStatus.ACTIVE and self.valid_from <= day <= self.valid_to

    def search_fields(self, phones: list[str] | None = None) -> dict[str, object]:
        """The search fields of this card, or of it with ``phones`` instead of its own."""
        return keyed(
            self.number, self.insured_person.full_name, self.phones if phones is None else phones
        )

    @before_event(Insert, Replace, Save)
    def fill_search_fields(self) -> None:
        for field, value in self.search_fields().items():
            setattr(self, field, value)

    class Settings(WholeDocuments):
        name = "policies"
        indexes = (
            IndexModel([("number", ASCENDING)], unique=True, name="number_unique"),
            IndexModel([("phones", ASCENDING)], name="phones"),
            # Single-field: the embedded engine narrows a search by such an index only (a
            # compound one over an array holds no entries there); MongoDB sorts the page.
            IndexModel([("search_keys", ASCENDING)], name="search_key"),
        )
