"""The insurers' policy registry (guide section 3): the cards people see in the cabinet."""

import calendar
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from beanie import Insert, Replace, Save, before_event
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.base import Document
from kabinet.documents.search_keys import keyed
from kabinet.documents.settings import WholeDocuments

# A CHILD card stops being shown to its phones' accounts on the child's 18th birthday...
GUARDIAN_AGE_YEARS = 18
# ... and they are told this many months before.
GUARDIAN_NOTICE_MONTHS = 1


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


def shift_months(day: date, months: int) -> date:
    """``day`` moved by whole months, kept within its month: one month before 31 March is
    the last day of February, 18 years after 29 February 2008 is 28 February 2026."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def midnight(day: date) -> datetime:
    """How a date is stored and compared: BSON keeps instants only."""
    return datetime.combine(day, time.min)


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
    # The registry's word on a CHILD card's guardian access: the last day its phones'
    # accounts see it, before or after the 18th birthday; None: the day before that.
    guardian_access_until: date | None = None
    # Derived (`guardian_fields`): the first day the phones' accounts no longer see the
    # card; None: they always do (not a CHILD card, or no birth date and no registry word).
    guardian_access_ends: date | None = None
    # When those accounts are to be told that the end is near; cleared once done.
    guardian_notice_at: datetime | None = None
    # The end they were told of: a registry row written again with the same end is not
    # announced twice; a new end is.
    guardian_announced_ends: date | None = None
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

    def guardian_access_end(self) -> date | None:
        """The first day the phones' accounts no longer see this card (see the fields)."""
        if self.relationship is not Relationship.CHILD:
            return None
        if self.guardian_access_until is not None:
            return self.guardian_access_until + timedelta(days=1)
        birth = self.insured_person.birth_date
        return shift_months(birth, 12 * GUARDIAN_AGE_YEARS) if birth else None

    def guardian_fields(self) -> dict[str, object]:
        """The derived guardian fields: the end, and when to announce it (not for an end
        already reached)."""
        ends = self.guardian_access_end()
        announce = ends is not None and ends > now().date()
        return {
            "guardian_access_ends": ends,
            "guardian_notice_at": (
                midnight(shift_months(ends, -GUARDIAN_NOTICE_MONTHS)) if ends and announce else None
            ),
        }

    def stored_guardian_fields(self) -> dict[str, object]:
        """`guardian_fields` as a write outside Beanie stores them."""
        fields = self.guardian_fields()
        ends = fields["guardian_access_ends"]
        return {
            **fields,
            "guardian_access_ends": midnight(ends) if isinstance(ends, date) else None,
        }

    def search_fields(self, phones: list[str] | None = None) -> dict[str, object]:
        """The search fields of this card, or of it with ``phones`` instead of its own."""
        return keyed(
            self.number, self.insured_person.full_name, self.phones if phones is None else phones
        )

    @before_event(Insert, Replace, Save)
    def fill_derived_fields(self) -> None:
        for field, value in {**self.search_fields(), **self.guardian_fields()}.items():
            setattr(self, field, value)

    class Settings(WholeDocuments):
        name = "policies"
        indexes = (
            IndexModel([("number", ASCENDING)], unique=True, name="number_unique"),
            IndexModel([("phones", ASCENDING)], name="phones"),
            # Single-field: the embedded engine narrows a search by such an index only (a
            # compound one over an array holds no entries there); MongoDB sorts the page.
            IndexModel([("search_keys", ASCENDING)], name="search_key"),
            # The cards whose guardian-access notice is due (`guardians.announce_endings`).
            IndexModel(
                [("guardian_notice_at", ASCENDING)],
                partialFilterExpression={"guardian_notice_at": {"$type": "date"}},
                name="guardian_notice",
            ),
        )
