"""What a card covers, what is left, and whether a request would be covered (issue 17
items 2 and 3)."""

import asyncio
from datetime import date
from decimal import Decimal
from typing import Annotated, Self

import strawberry

from kabinet import documents
from kabinet.clock import now
from kabinet.documents import PolicyDocument, ProgrammeDocument
from kabinet.i18n import N_, Locale, translate
from kabinet.resolvers import coverage
from kabinet.schema.context import Info
from kabinet.schema.enums import BenefitKind, BenefitPeriod, CoverageVerdict, NotCoveredReason
from kabinet.schema.errors import InputError, NotFound, to_graphql
from kabinet.schema.ids import by_id
from kabinet.schema.labels import label_of
from kabinet.schema.permissions import SignedIn, viewer


def _money(amount: Decimal | None) -> str | None:
    return f"{amount:.2f}" if amount is not None else None


@strawberry.type(description="An amount in UAH and a count; null where that sort does not apply.")
class BenefitAmounts:
    amount: str | None = strawberry.field(
        description="UAH, a decimal string with two decimals; null: no amount limit."
    )
    count: int | None = strawberry.field(
        description="Visits, tests or items (medications); null: no count limit."
    )


@strawberry.type(name="Benefit", description="One kind of cover of a card, as it stands today.")
class CardBenefit:
    kind: BenefitKind = strawberry.field(description="What it covers.")
    kind_label: str = label_of("kind", "`kind` in the caller's language.")
    limit: BenefitAmounts = strawberry.field(
        description="The limit per period: an amount, a count, both, or neither (no limit)."
    )
    used: BenefitAmounts = strawberry.field(
        description="What the card's decided requests used in this period: approved and paid "
        "reimbursements, completed appointments and lab tests, medications given (always "
        "both, zero when nothing)."
    )
    remaining: BenefitAmounts = strawberry.field(
        description="The limit less what was used, never below zero; null where no limit."
    )
    period: BenefitPeriod = strawberry.field(description="What the limit is counted over.")
    period_start: date = strawberry.field(description="First day of the current period.")
    period_end: date = strawberry.field(description="Last day of the current period.")
    copayment_percent: int = strawberry.field(
        description="The member's share of each covered amount, 0-100."
    )
    waiting_period_days: int = strawberry.field(
        description="Days from the card's `validFrom` before the benefit can be used."
    )
    waiting_period_ends: date = strawberry.field(
        description="The first day the benefit can be used."
    )
    notes: str | None = strawberry.field(description="The insurer's notes, e.g. conditions.")

    @classmethod
    def of(cls, state: coverage.BenefitState) -> Self:
        benefit = state.benefit
        return cls(
            kind=benefit.kind,
            limit=BenefitAmounts(amount=benefit.limit_amount, count=benefit.limit_count),
            used=BenefitAmounts(amount=_money(state.used_amount), count=state.used_count),
            remaining=BenefitAmounts(
                amount=_money(state.remaining_amount), count=state.remaining_count
            ),
            period=benefit.period,
            period_start=state.start,
            period_end=state.end,
            copayment_percent=benefit.copayment_percent,
            waiting_period_days=benefit.waiting_days,
            waiting_period_ends=state.waiting_ends,
            notes=benefit.notes,
        )


# What the member reads for each answer.
_MESSAGES: dict[coverage.Verdict | coverage.NotCoveredReason, str] = {
    coverage.Verdict.COVERED: N_("coverage.covered"),
    coverage.Verdict.PARTLY: N_("coverage.partly"),
    coverage.NotCoveredReason.CARD_NOT_VALID: N_("coverage.card_not_valid"),
    coverage.NotCoveredReason.NO_PROGRAMME_DEFINED: N_("coverage.no_programme_defined"),
    coverage.NotCoveredReason.NOT_IN_PROGRAMME: N_("coverage.not_in_programme"),
    coverage.NotCoveredReason.WAITING_PERIOD: N_("coverage.waiting_period"),
    coverage.NotCoveredReason.LIMIT_USED_UP: N_("coverage.limit_used_up"),
}


@strawberry.type(description="Whether a request would be covered today, before it is filed.")
class CoverageCheck:
    verdict: CoverageVerdict = strawberry.field(description="Covered, partly, or not.")
    reason: NotCoveredReason | None = strawberry.field(
        description="Why not, for NOT_COVERED; else null."
    )
    message: str = strawberry.field(description="The answer in words, in the caller's language.")
    kind: BenefitKind = strawberry.field(description="The benefit checked.")
    checked_on: date = strawberry.field(description="The day the answer is for: today.")
    amount: str | None = strawberry.field(description="The amount asked about (UAH), if any.")
    covered_amount: str | None = strawberry.field(
        description="What the programme would pay of `amount`: within what remains of the "
        "limit, less the co-payment; null without an amount."
    )
    member_share: str | None = strawberry.field(
        description="What the member would pay: `amount` less `coveredAmount`."
    )
    benefit: CardBenefit | None = strawberry.field(
        description="The benefit as it stands, before this request; null when the programme "
        "has no such benefit (or no definition) or the card is not in force."
    )
    remaining_after: BenefitAmounts | None = strawberry.field(
        description="What would remain if the programme paid `coveredAmount` (one visit, test "
        "or request counted); null when not covered or where no limit."
    )

    @classmethod
    def of(cls, answer: coverage.CoverageAnswer, locale: Locale) -> Self:
        state = answer.state
        remaining_after = None
        if answer.verdict is not coverage.Verdict.NOT_COVERED and state is not None:
            left, count = state.remaining_amount, state.remaining_count
            remaining_after = BenefitAmounts(
                amount=_money(left - (answer.covered or 0)) if left is not None else None,
                count=count - 1 if count is not None else None,
            )
        message = _MESSAGES[answer.reason or answer.verdict]
        return cls(
            verdict=answer.verdict,
            reason=answer.reason,
            message=translate(message, locale),
            kind=answer.kind,
            checked_on=answer.day,
            amount=_money(answer.amount),
            covered_amount=_money(answer.covered),
            member_share=_money(answer.member_share),
            benefit=CardBenefit.of(state) if state is not None else None,
            remaining_after=remaining_after,
        )


async def card_terms(
    info: Info, card: PolicyDocument
) -> tuple[ProgrammeDocument | None, list[coverage.UsageDay]]:
    """The card's programme and usage through the operation's loaders: the cards of one
    operation cost one query for their programmes and one for their usage."""
    loaders = info.context.loaders
    programme, usage = await asyncio.gather(
        loaders.programmes.load(coverage.card_programme(card)),
        loaders.card_usage.load(card.id),  # type: ignore[arg-type]
    )
    return programme, usage


async def card_coverage(info: Info, card: PolicyDocument) -> list[CardBenefit]:
    programme, usage = await card_terms(info, card)
    states = coverage.coverage_of(card, programme, usage, now().date())
    return [CardBenefit.of(state) for state in states]


async def checked(
    info: Info, card: PolicyDocument, kind: documents.BenefitKind, amount: Decimal | None
) -> CoverageCheck:
    """`coverageCheck`'s answer for ``card`` today."""
    programme, usage = await card_terms(info, card)
    answer = coverage.check(card, programme, usage, kind, amount, now().date())
    return CoverageCheck.of(answer, info.context.caller.locale)


CoverageCheckResult = Annotated[
    CoverageCheck | NotFound | InputError,
    strawberry.union(
        "CoverageCheckResult",
        description="The answer; NotFound for a card the caller may not read; InputError for "
        "an unknown kind or an amount that is not above zero.",
    ),
]


@strawberry.type
class CoverageQuery:
    @strawberry.field(
        permission_classes=[SignedIn],
        description="Before filing: would the card's programme cover a request of `kind` (a "
        "`BenefitKind` name) for `amount` (UAH, optional) today, in full, in part or not, "
        "and what would remain. A member checks their linked cards, staff any card.",
    )
    async def coverage_check(
        self, info: Info, policy_id: strawberry.ID, kind: str, amount: str | None = None
    ) -> CoverageCheckResult:
        user = viewer(info)
        outcome = await by_id(
            policy_id,
            "Policy",
            lambda card_id: coverage.readable_check(
                viewer=user, policy_id=card_id, kind=kind, amount=amount
            ),
        )
        if isinstance(outcome, coverage.CardCheck):
            return await checked(info, outcome.card, outcome.kind, outcome.amount)
        return to_graphql(outcome, info.context.caller.locale)
