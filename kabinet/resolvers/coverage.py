"""What a card covers and what is left of it (issue 17 items 2 and 3).

Usage is never counted separately: each request records what its decision consumed
(`RequestDocument.usage`, from `consumed`) in the very update that records the decision,
so a crash leaves either both or neither, a decision changed again (a status back, a
smaller payout) rewrites it, and `used` is a sum over the card's requests by the
`usage_by_card` index.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from beanie import PydanticObjectId

from kabinet.documents import (
    Benefit,
    BenefitKind,
    BenefitPeriod,
    PolicyDocument,
    ProgrammeDocument,
    RequestDocument,
    RequestKind,
    RequestStatus,
    UserDocument,
)
from kabinet.documents.policy import shift_months
from kabinet.documents.programme import programme_key
from kabinet.documents.request import (
    AppointmentOutcome,
    Details,
    DoctorAppointmentDetails,
    ItemDecision,
    LabTestsOutcome,
    MedicationsOutcome,
    Outcome,
    PayoutStatus,
    ReimbursementDetails,
    ReimbursementOutcome,
    Usage,
)
from kabinet.resolvers import policies
from kabinet.resolvers.errors import FieldErrorCode, FieldProblem, InvalidInput, NotFound
from kabinet.resolvers.validation import Checked

HUNDRED = Decimal(100)
KOPECK = Decimal("0.01")
# The largest amount a check takes (a hospital stay is far below it).
MAX_CHECKED_AMOUNT = Decimal(100_000_000)
# The benefit each request kind draws on; a callback draws on none.
REQUEST_BENEFITS: dict[RequestKind, BenefitKind] = {
    RequestKind.DOCTOR_APPOINTMENT: BenefitKind.OUTPATIENT_VISITS,
    RequestKind.MEDICATIONS: BenefitKind.MEDICATIONS,
    RequestKind.LAB_TESTS: BenefitKind.LAB_TESTS,
    RequestKind.REIMBURSEMENT: BenefitKind.REIMBURSEMENT,
}


def request_benefit(details: Details) -> BenefitKind | None:
    """The benefit a request with ``details`` draws on: a doctor at home is a home visit."""
    if isinstance(details, DoctorAppointmentDetails) and details.home_visit:
        return BenefitKind.HOME_VISITS
    return REQUEST_BENEFITS.get(details.kind)


def _kopecks(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(ROUND_HALF_UP))


def consumed(
    request: RequestDocument, status: RequestStatus, outcome: Outcome | None, moment: datetime
) -> Usage | None:
    """What ``request`` consumes once at ``status`` with ``outcome``: an approved
    reimbursement its approved amount (the amount paid, once PAID); a completed
    appointment or lab test one visit; completed medications the items given. A pure
    function of the state, so whatever changes the state rewrites its usage with it."""
    benefit = request_benefit(request.details)
    if benefit is None:
        return None
    details = request.details
    if isinstance(outcome, ReimbursementOutcome) and isinstance(details, ReimbursementDetails):
        if status not in (RequestStatus.APPROVED, RequestStatus.COMPLETED):
            return None
        payout = outcome.payout
        paid = payout is not None and payout.status is PayoutStatus.PAID
        amount = Decimal(payout.amount if paid and payout else outcome.approved_amount)
        if amount <= 0:
            return None
        # A limit is in UAH: a claim in another currency counts as one, of no amount.
        kopecks = _kopecks(amount) if outcome.currency == "UAH" else 0
        return _usage(request, benefit, details.service_date, 1, kopecks)
    if status is not RequestStatus.COMPLETED:
        return None
    # The day of the visit or the sampling; medications count on the day they are given.
    at = outcome.at if isinstance(outcome, AppointmentOutcome | LabTestsOutcome) else None
    day = (at or moment).date()
    count = 1
    if isinstance(outcome, MedicationsOutcome):
        count = sum(item.decision is not ItemDecision.REFUSED for item in outcome.items)
    return _usage(request, benefit, day, count, 0) if count else None


def _usage(
    request: RequestDocument, benefit: BenefitKind, day: date, count: int, kopecks: int
) -> Usage:
    return Usage(policy_id=request.policy_id, benefit=benefit, on=day, count=count, kopecks=kopecks)


@dataclass(frozen=True, slots=True)
class UsageDay:
    """What a card's requests consumed of one benefit on one day."""

    benefit: BenefitKind
    on: date
    count: int
    kopecks: int


async def usage_of_cards(
    card_ids: Sequence[PydanticObjectId],
) -> list[list[UsageDay]]:
    """Each card's usage by benefit and day: one aggregate over the `usage_by_card` index
    for all the cards."""
    pipeline = [
        {"$match": {"usage.policy_id": {"$in": list(card_ids)}}},
        {
            "$group": {
                "_id": {
                    "card": "$usage.policy_id",
                    "benefit": "$usage.benefit",
                    "on": "$usage.on",
                },
                "count": {"$sum": "$usage.count"},
                "kopecks": {"$sum": "$usage.kopecks"},
            }
        },
    ]
    each: dict[PydanticObjectId, list[UsageDay]] = {card_id: [] for card_id in card_ids}
    cursor = await RequestDocument.get_pymongo_collection().aggregate(pipeline)
    async for row in cursor:
        key = row["_id"]
        on = key["on"]
        each[key["card"]].append(
            UsageDay(
                benefit=BenefitKind(key["benefit"]),
                on=on.date() if isinstance(on, datetime) else on,
                count=row["count"],
                kopecks=row["kopecks"],
            )
        )
    return [each[card_id] for card_id in card_ids]


async def programmes_named(keys: Sequence[str]) -> list[ProgrammeDocument | None]:
    """The programmes of these keys (`programme_key`), in their order: one query."""
    found = {
        programme.id: programme
        for programme in await ProgrammeDocument.find({"_id": {"$in": list(keys)}}).to_list()
    }
    return [found.get(key) for key in keys]


def card_programme(card: PolicyDocument) -> str:
    return programme_key(card.insurer, card.program)


def period(benefit: Benefit, card: PolicyDocument, day: date) -> tuple[date, date]:
    """The first and last day of the period ``day`` falls in: the calendar year, or the
    policy year (from `valid_from` and each anniversary, the last one ending with
    `valid_to`; a day outside the card's validity takes its first or last year)."""
    if benefit.period is BenefitPeriod.CALENDAR_YEAR:
        return date(day.year, 1, 1), date(day.year, 12, 31)
    day = min(max(day, card.valid_from), card.valid_to)
    years = day.year - card.valid_from.year
    if shift_months(card.valid_from, 12 * years) > day:
        years -= 1
    start = shift_months(card.valid_from, 12 * years)
    next_start = shift_months(card.valid_from, 12 * (years + 1))
    return start, min(next_start - timedelta(days=1), card.valid_to)


@dataclass(frozen=True, slots=True)
class BenefitState:
    """A benefit of a card on a day: its terms, the period, and what was used in it."""

    benefit: Benefit
    start: date
    end: date
    used_count: int
    used_amount: Decimal
    waiting_ends: date  # the first day it can be used

    @property
    def limit_amount(self) -> Decimal | None:
        limit = self.benefit.limit_amount
        return Decimal(limit) if limit is not None else None

    @property
    def remaining_amount(self) -> Decimal | None:
        limit = self.limit_amount
        return max(limit - self.used_amount, Decimal(0)) if limit is not None else None

    @property
    def remaining_count(self) -> int | None:
        limit = self.benefit.limit_count
        return max(limit - self.used_count, 0) if limit is not None else None

    @property
    def used_up(self) -> bool:
        return self.remaining_count == 0 or self.remaining_amount == 0


def benefit_state(
    benefit: Benefit, card: PolicyDocument, usage: Sequence[UsageDay], day: date
) -> BenefitState:
    start, end = period(benefit, card, day)
    counted = [u for u in usage if u.benefit is benefit.kind and start <= u.on <= end]
    return BenefitState(
        benefit=benefit,
        start=start,
        end=end,
        used_count=sum(u.count for u in counted),
        used_amount=Decimal(sum(u.kopecks for u in counted)) / 100,
        waiting_ends=card.valid_from + timedelta(days=benefit.waiting_days),
    )


def coverage_of(
    card: PolicyDocument,
    programme: ProgrammeDocument | None,
    usage: Sequence[UsageDay],
    day: date,
) -> list[BenefitState]:
    """Every benefit of the programme version in force on ``day`` (none without one)."""
    version = programme.version_on(day) if programme is not None else None
    if version is None:
        return []
    return [benefit_state(benefit, card, usage, day) for benefit in version.benefits]


class Verdict(StrEnum):
    COVERED = "covered"
    PARTLY = "partly"
    NOT_COVERED = "not_covered"


class NotCoveredReason(StrEnum):
    CARD_NOT_VALID = "card_not_valid"
    NO_PROGRAMME_DEFINED = "no_programme_defined"
    NOT_IN_PROGRAMME = "not_in_programme"
    WAITING_PERIOD = "waiting_period"
    LIMIT_USED_UP = "limit_used_up"


@dataclass(frozen=True, slots=True)
class CoverageAnswer:
    """Whether a request of ``kind`` for ``amount`` would be covered on ``day``."""

    verdict: Verdict
    kind: BenefitKind
    day: date
    reason: NotCoveredReason | None = None
    state: BenefitState | None = None
    amount: Decimal | None = None
    covered: Decimal | None = None  # what the programme pays of ``amount``
    member_share: Decimal | None = None  # the rest: over the limit, and the co-payment


def check(
    card: PolicyDocument,
    programme: ProgrammeDocument | None,
    usage: Sequence[UsageDay],
    kind: BenefitKind,
    amount: Decimal | None,
    day: date,
) -> CoverageAnswer:
    """The answer for ``kind`` (and ``amount``, if given) on ``day``."""

    def refused(reason: NotCoveredReason, state: BenefitState | None = None) -> CoverageAnswer:
        share = amount
        return CoverageAnswer(
            Verdict.NOT_COVERED, kind, day, reason, state, amount, Decimal(0), share
        )

    if not card.in_force(day):
        return refused(NotCoveredReason.CARD_NOT_VALID)
    version = programme.version_on(day) if programme is not None else None
    if version is None:
        return refused(NotCoveredReason.NO_PROGRAMME_DEFINED)
    benefit = version.benefit(kind)
    if benefit is None:
        return refused(NotCoveredReason.NOT_IN_PROGRAMME)
    state = benefit_state(benefit, card, usage, day)
    if day < state.waiting_ends:
        return refused(NotCoveredReason.WAITING_PERIOD, state)
    if state.used_up:
        return refused(NotCoveredReason.LIMIT_USED_UP, state)
    paid_share = (HUNDRED - benefit.copayment_percent) / HUNDRED
    if amount is None:
        verdict = Verdict.COVERED if benefit.copayment_percent == 0 else Verdict.PARTLY
        return CoverageAnswer(verdict, kind, day, None, state)
    within_limit = amount if state.remaining_amount is None else min(amount, state.remaining_amount)
    covered = (within_limit * paid_share).quantize(KOPECK, ROUND_HALF_UP)
    verdict = Verdict.COVERED if covered == amount else Verdict.PARTLY
    return CoverageAnswer(verdict, kind, day, None, state, amount, covered, amount - covered)


def parse_check(kind: str, amount: str | None) -> tuple[BenefitKind, Decimal | None] | InvalidInput:
    """A check's input: a `BenefitKind` name (any case) and an amount above zero."""
    checked = Checked()
    benefit = next((member for member in BenefitKind if member.name == kind.strip().upper()), None)
    if benefit is None:
        allowed = ", ".join(member.name for member in BenefitKind)
        checked.problems.append(
            FieldProblem("kind", FieldErrorCode.CHOICE_INVALID, {"allowed": allowed})
        )
    parsed = None
    if amount is not None:
        text = checked.amount(amount, "amount", maximum=MAX_CHECKED_AMOUNT)
        parsed = Decimal(text) if text is not None else None
    if checked.problems or benefit is None:
        return InvalidInput(checked.problems)
    return benefit, parsed


@dataclass(frozen=True, slots=True)
class CardCheck:
    """A check to answer: a card the caller may read, a kind and maybe an amount."""

    card: PolicyDocument
    kind: BenefitKind
    amount: Decimal | None


async def readable_check(
    *, viewer: UserDocument, policy_id: PydanticObjectId, kind: str, amount: str | None
) -> CardCheck | NotFound | InvalidInput:
    """`coverageCheck`'s input, for a card the viewer may read (`policies.readable`): any
    other is not found, whatever else is wrong."""
    (card,) = await policies.find_cards(viewer, [policy_id])
    if card is None:
        return NotFound()
    parsed = parse_check(kind, amount)
    if isinstance(parsed, InvalidInput):
        return parsed
    return CardCheck(card, *parsed)
