"""Insurance programmes (issue 17 item 1): what the cards of one insurer's programme cover.

A programme is named by the insurer and the programme as a card carries them
(`PolicyDocument.insurer`, `program`). Its versions each apply from a date; a card's
cover on a day is the version in force that day.
"""

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from kabinet.clock import now
from kabinet.documents.base import Document
from kabinet.documents.settings import WholeDocuments


class BenefitKind(StrEnum):
    OUTPATIENT_VISITS = "outpatient_visits"
    HOME_VISITS = "home_visits"
    MEDICATIONS = "medications"
    LAB_TESTS = "lab_tests"
    HOSPITAL = "hospital"
    DENTAL = "dental"
    EMERGENCY = "emergency"
    REIMBURSEMENT = "reimbursement"


class BenefitPeriod(StrEnum):
    """What a benefit's limit is counted over."""

    POLICY_YEAR = "policy_year"
    CALENDAR_YEAR = "calendar_year"


class Benefit(BaseModel):
    """One kind of cover: its limit per period (an amount, a count, both, or neither:
    no limit), the member's share and the waiting period."""

    kind: BenefitKind
    limit_amount: str | None = None  # UAH, a decimal string with two decimals
    limit_count: int | None = None
    period: BenefitPeriod = BenefitPeriod.POLICY_YEAR
    copayment_percent: int = 0
    waiting_days: int = 0  # from the card's `valid_from`
    notes: str | None = None


class ProgrammeVersion(BaseModel):
    """The benefits in force from ``effective_from`` until the next version's date."""

    effective_from: date
    benefits: list[Benefit]

    def benefit(self, kind: BenefitKind) -> Benefit | None:
        return next((benefit for benefit in self.benefits if benefit.kind is kind), None)


def programme_key(insurer: str, program: str) -> str:
    """A programme's `_id`: a point lookup for the cards that name it (the two texts
    cannot hold a line break: imports refuse control characters)."""
    return f"{insurer}\n{program}"


class ProgrammeDocument(Document):
    """One programme with every version, written whole by one import row (`versions`
    oldest first)."""

    id: str  # type: ignore[assignment]  # programme_key(insurer, program)
    insurer: str
    program: str
    versions: list[ProgrammeVersion]
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)

    def version_on(self, day: date) -> ProgrammeVersion | None:
        """The version in force on ``day``: the latest one that applies from it or before."""
        applying = [version for version in self.versions if version.effective_from <= day]
        return applying[-1] if applying else None

    class Settings(WholeDocuments):
        name = "programmes"
