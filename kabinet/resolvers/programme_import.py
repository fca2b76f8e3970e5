"""Programme definitions in a registry file (issue 17 item 1; docs/policy-import.md).

Each programme is validated whole, version by version and benefit by benefit; a
programme with any problem is reported (paths `programmes[N].versions[M].benefits[K].
field`, each counted from 1) and not written at all, a good one is one atomic upsert
of the programme with all its versions.
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation

from pymongo import UpdateOne

from kabinet.clock import now
from kabinet.documents import (
    Benefit,
    BenefitKind,
    BenefitPeriod,
    ProgrammeDocument,
    ProgrammeVersion,
)
from kabinet.documents.policy import midnight
from kabinet.documents.programme import programme_key
from kabinet.resolvers.errors import FieldErrorCode, FieldProblem
from kabinet.resolvers.registry_import import choice
from kabinet.resolvers.validation import Checked

MAX_VERSIONS = 50
MAX_BENEFITS = len(BenefitKind)
MAX_WAITING_DAYS = 3660
MAX_LIMIT = Decimal(1_000_000_000)

# Reads a required date as the registry's rows do (`policy_import`).
type ReadDate = Callable[[object, str, Checked], date | None]


def _whole(value: object, path: str, checked: Checked, code: FieldErrorCode, maximum: int) -> int:
    """A whole number from 0 to ``maximum`` (a JSON number, or digits in a string)."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if number is None or not 0 <= number <= maximum:
        checked.fail(path, code)
        return 0
    return number


def _limit_amount(value: object, path: str, checked: Checked) -> str | None:
    """An amount in UAH, not below zero, at most two decimals; empty: no amount limit."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or not Decimal(0) <= amount <= MAX_LIMIT
        or amount != amount.quantize(Decimal("0.01"))
    ):
        checked.fail(path, FieldErrorCode.LIMIT_INVALID)
        return None
    return f"{amount:.2f}"


def _benefit(entry: object, path: str, checked: Checked) -> Benefit | None:
    if not isinstance(entry, dict):
        checked.fail(path, FieldErrorCode.FILE_UNREADABLE)
        return None
    kind = choice(entry.get("kind"), f"{path}.kind", BenefitKind, checked)
    limit_amount = _limit_amount(entry.get("limit_amount"), f"{path}.limit_amount", checked)
    raw_count = entry.get("limit_count")
    limit_count = (
        None
        if raw_count is None or raw_count == ""
        else _whole(raw_count, f"{path}.limit_count", checked, FieldErrorCode.LIMIT_INVALID, 10**6)
    )
    benefit_period = choice(
        entry.get("period"), f"{path}.period", BenefitPeriod, checked, BenefitPeriod.POLICY_YEAR
    )
    copayment = _whole(
        entry.get("copayment_percent", 0),
        f"{path}.copayment_percent",
        checked,
        FieldErrorCode.COPAYMENT_INVALID,
        100,
    )
    waiting = _whole(
        entry.get("waiting_days", 0),
        f"{path}.waiting_days",
        checked,
        FieldErrorCode.WAITING_DAYS_INVALID,
        MAX_WAITING_DAYS,
    )
    notes = checked.text(
        None if entry.get("notes") is None else str(entry["notes"]),
        f"{path}.notes",
        max_length=2000,
        required=False,
    )
    if kind is None or benefit_period is None:
        return None
    return Benefit(
        kind=kind,
        limit_amount=limit_amount,
        limit_count=limit_count,
        period=benefit_period,
        copayment_percent=copayment,
        waiting_days=waiting,
        notes=notes,
    )


def _entries(value: object, path: str, checked: Checked, maximum: int) -> list[object]:
    """A JSON array of one to ``maximum`` entries; problems go to ``checked``."""
    if not isinstance(value, list) or not value:
        checked.fail(path, FieldErrorCode.REQUIRED)
        return []
    if len(value) > maximum:
        checked.fail(path, FieldErrorCode.TOO_MANY_ITEMS, max_items=maximum)
        return []
    return value


def _version(
    entry: object, path: str, checked: Checked, read_date: ReadDate
) -> ProgrammeVersion | None:
    if not isinstance(entry, dict):
        checked.fail(path, FieldErrorCode.FILE_UNREADABLE)
        return None
    effective_from = read_date(entry.get("effective_from"), f"{path}.effective_from", checked)
    benefits: list[Benefit] = []
    kinds: set[BenefitKind] = set()
    listed = _entries(entry.get("benefits"), f"{path}.benefits", checked, MAX_BENEFITS)
    for index, item in enumerate(listed, start=1):
        benefit = _benefit(item, f"{path}.benefits[{index}]", checked)
        if benefit is None:
            continue
        if benefit.kind in kinds:
            checked.fail(f"{path}.benefits[{index}].kind", FieldErrorCode.BENEFIT_DUPLICATE)
        kinds.add(benefit.kind)
        benefits.append(benefit)
    if effective_from is None:
        return None
    return ProgrammeVersion(effective_from=effective_from, benefits=benefits)


def validate_programme(
    entry: object, number: int, read_date: ReadDate
) -> ProgrammeDocument | list[FieldProblem]:
    """The programme an entry of `programmes` describes, or every problem it has.
    ``read_date`` reads a date as the registry's rows do."""
    checked = Checked()
    path = f"programmes[{number}]"
    if not isinstance(entry, dict):
        return [FieldProblem(path, FieldErrorCode.FILE_UNREADABLE)]

    def text(column: str) -> str | None:
        value = entry.get(column)
        return checked.text(
            None if value is None else str(value), f"{path}.{column}", max_length=120, required=True
        )

    insurer, program = text("insurer"), text("program")
    versions: list[ProgrammeVersion] = []
    listed = _entries(entry.get("versions"), f"{path}.versions", checked, MAX_VERSIONS)
    for index, item in enumerate(listed, start=1):
        at = f"{path}.versions[{index}]"
        version = _version(item, at, checked, read_date)
        if version is None:
            continue
        # Two versions from one day would both be in force from it.
        if any(v.effective_from == version.effective_from for v in versions):
            checked.fail(f"{at}.effective_from", FieldErrorCode.VERSIONS_OVERLAP)
        versions.append(version)
    if checked.problems or insurer is None or program is None:
        return checked.problems
    versions.sort(key=lambda version: version.effective_from)
    return ProgrammeDocument(
        id=programme_key(insurer, program), insurer=insurer, program=program, versions=versions
    )


def upsert(programme: ProgrammeDocument) -> UpdateOne:
    """The write of one programme: all its versions replace the stored ones."""
    versions = [
        {**version.model_dump(mode="python"), "effective_from": midnight(version.effective_from)}
        for version in programme.versions
    ]
    moment = now()
    return UpdateOne(
        {"_id": programme.id},
        {
            "$set": {
                "insurer": programme.insurer,
                "program": programme.program,
                "versions": versions,
                "updated_at": moment,
            },
            "$setOnInsert": {"created_at": moment},
        },
        upsert=True,
    )
