"""Loading an insurer's policy registry (CSV or JSON), upserting by policy number, and
its programme definitions (JSON; `programme_import`).

Every row is validated on its own; a bad row is reported with its number and
reasons and written not at all, a good row is one atomic upsert, sent with the
other rows of its batch in one bulk write. The format is
documented in docs/policy-import.md.
"""

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from pymongo import UpdateOne

from kabinet.auth.context import Caller
from kabinet.clock import now
from kabinet.documents import (
    AuditAction,
    InsuredPerson,
    PolicyDocument,
    PolicyStatus,
    ProgrammeDocument,
    Relationship,
)
from kabinet.documents.policy import midnight
from kabinet.resolvers import audit, programme_import
from kabinet.resolvers.errors import FieldErrorCode, FieldProblem, InvalidInput
from kabinet.resolvers.validation import Checked, parse_phone

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
# The registry's columns in docs/policy-import.md's order (the benchmark writes its
# registry with them; the reader takes any order by header).
COLUMNS = (
    "number",
    "insurer",
    "program",
    "status",
    "valid_from",
    "valid_to",
    "insured_full_name",
    "insured_birth_date",
    "phones",
    "relationship",
    "coverage_notes",
    "guardian_access_until",
)
_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/.-]{0,39}$")


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[FieldProblem] = field(default_factory=list)
    programmes_created: int = 0
    programmes_updated: int = 0


@dataclass(frozen=True, slots=True)
class Registry:
    """What a registry file holds: card rows and programme definitions."""

    rows: list[dict[str, object]]
    programmes: list[object] = field(default_factory=list)


def parse_registry(content: bytes, filename: str) -> Registry | InvalidInput:
    """Rows of a CSV (header line, comma or semicolon) or JSON file: an array of card
    rows, or an object with `policies` (that array) and `programmes`."""
    if len(content) > MAX_FILE_BYTES:
        return InvalidInput([FieldProblem("file", FieldErrorCode.FILE_TOO_LARGE, {"max_mb": 5})])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return InvalidInput([FieldProblem("file", FieldErrorCode.FILE_UNREADABLE)])
    stripped = text.lstrip()
    programmes: list[object] = []
    if filename.lower().endswith(".json") or stripped.startswith(("[", "{")):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError:
            return InvalidInput([FieldProblem("file", FieldErrorCode.FILE_UNREADABLE)])
        if isinstance(rows, dict) and set(rows) <= {"policies", "programmes"}:
            programmes = rows.get("programmes", [])
            rows = rows.get("policies", [])
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            return InvalidInput([FieldProblem("file", FieldErrorCode.FILE_UNREADABLE)])
        if not isinstance(programmes, list):
            return InvalidInput([FieldProblem("file", FieldErrorCode.FILE_UNREADABLE)])
    else:
        try:
            dialect = csv.Sniffer().sniff(stripped.splitlines()[0] if stripped else ",", ",;")
            rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
        except csv.Error:
            return InvalidInput([FieldProblem("file", FieldErrorCode.FILE_UNREADABLE)])
    if len(rows) + len(programmes) > MAX_ROWS:
        return InvalidInput(
            [FieldProblem("file", FieldErrorCode.TOO_MANY_ROWS, {"max_rows": MAX_ROWS})]
        )
    return Registry(rows, programmes)


def _date(value: object, path: str, checked: Checked, *, required: bool) -> date | None:
    text = checked.text(
        str(value) if value is not None else None, path, max_length=10, required=required
    )
    if text is None:
        return None
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    checked.problems.append(FieldProblem(path, FieldErrorCode.DATE_INVALID))
    return None


def _required_date(value: object, path: str, checked: Checked) -> date | None:
    return _date(value, path, checked, required=True)


def _choice[E: (PolicyStatus, Relationship)](
    value: object, path: str, kind: type[E], checked: Checked, default: E | None
) -> E | None:
    text = str(value or "").strip().lower()
    if not text and default is not None:
        return default
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(member.name for member in kind)
        checked.problems.append(
            FieldProblem(path, FieldErrorCode.CHOICE_INVALID, {"allowed": allowed})
        )
        return None


def validate_row(row: dict[str, object], line: int) -> PolicyDocument | list[FieldProblem]:
    """The policy a row describes, or every problem of the row (paths `rows[N].column`)."""
    checked = Checked()

    def at(column: str) -> str:
        return f"rows[{line}].{column}"

    def text(column: str, max_length: int, *, required: bool) -> str | None:
        value = row.get(column)
        return checked.text(
            None if value is None else str(value),
            at(column),
            max_length=max_length,
            required=required,
        )

    number = text("number", 40, required=True)
    if number is not None and not _NUMBER.match(number):
        checked.problems.append(FieldProblem(at("number"), FieldErrorCode.POLICY_NUMBER_INVALID))
    insurer = text("insurer", 120, required=True)
    program = text("program", 120, required=True)
    status = _choice(row.get("status"), at("status"), PolicyStatus, checked, None)
    valid_from = _date(row.get("valid_from"), at("valid_from"), checked, required=True)
    valid_to = _date(row.get("valid_to"), at("valid_to"), checked, required=True)
    if valid_from and valid_to and valid_to < valid_from:
        checked.problems.append(
            FieldProblem(at("valid_to"), FieldErrorCode.VALID_TO_BEFORE_VALID_FROM)
        )
    full_name = text("insured_full_name", 180, required=True)
    birth_date = _date(
        row.get("insured_birth_date"), at("insured_birth_date"), checked, required=False
    )
    relationship = _choice(
        row.get("relationship"), at("relationship"), Relationship, checked, Relationship.SELF
    )
    raw_phones = row.get("phones") or []
    typed = raw_phones if isinstance(raw_phones, list) else re.split(r"[;,]", str(raw_phones))
    phones: list[str] = []
    for typed_phone in (str(p).strip() for p in typed):
        if not typed_phone:
            continue
        phone = parse_phone(typed_phone, at("phones"))
        if isinstance(phone, FieldProblem):
            checked.problems.append(phone)
        elif phone not in phones:
            phones.append(phone)
    notes = text("coverage_notes", 2000, required=False)
    guardian_until = _date(
        row.get("guardian_access_until"), at("guardian_access_until"), checked, required=False
    )
    if guardian_until is not None and relationship not in (None, Relationship.CHILD):
        checked.problems.append(
            FieldProblem(at("guardian_access_until"), FieldErrorCode.GUARDIAN_ACCESS_NOT_CHILD)
        )
    if checked.problems:
        return checked.problems
    return PolicyDocument(
        number=number or "",
        insurer=insurer or "",
        program=program or "",
        status=status or PolicyStatus.ACTIVE,
        valid_from=valid_from or date.min,
        valid_to=valid_to or date.max,
        insured_person=InsuredPerson(full_name=full_name or "", birth_date=birth_date),
        phones=phones,
        relationship=relationship or Relationship.SELF,
        coverage_notes=notes,
        guardian_access_until=guardian_until,
    )


def _upsert(policy: PolicyDocument) -> UpdateOne:
    """The write of one registry row: its fields, its search keys and guardian fields, our
    timestamps; the guardian end already announced (`guardian_announced_ends`) and the
    revocation of its links (`card_links_valid_after`) stay."""
    fields = policy.model_dump(
        exclude={
            "id",
            "revision_id",
            "created_at",
            "updated_at",
            "guardian_announced_ends",
            "card_links_valid_after",
        },
        mode="python",
    )
    fields.update(policy.search_fields())
    fields.update(policy.stored_guardian_fields())
    for day in ("valid_from", "valid_to", "guardian_access_until"):
        fields[day] = _stored(fields[day])
    fields["insured_person"]["birth_date"] = _stored(policy.insured_person.birth_date)
    moment = now()
    return UpdateOne(
        {"number": policy.number},
        {"$set": {**fields, "updated_at": moment}, "$setOnInsert": {"created_at": moment}},
        upsert=True,
    )


def _stored(day: date | None) -> datetime | None:
    return midnight(day) if day else None


BATCH_ROWS = 500
# Rows done and rows in all, after each batch.
Progress = Callable[[int, int], None]


async def import_rows(
    *,
    caller: Caller,
    rows: list[dict[str, object]],
    programmes: list[object] | None = None,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportReport:
    """Upsert every valid programme (`programme_import`), then every valid row by number,
    ``batch_rows`` rows to a bulk write; the first row after a CSV header is row 1.
    Within a batch the writes apply in row order, so of two rows with one number the
    later wins, as it would row by row."""
    report = ImportReport()
    await _import_programmes(programmes or [], report)
    collection = PolicyDocument.get_pymongo_collection()
    for start in range(0, len(rows), batch_rows):
        writes: list[UpdateOne] = []
        for line, row in enumerate(rows[start : start + batch_rows], start=start + 1):
            policy = validate_row(row, line)
            if isinstance(policy, list):
                report.rejected.extend(policy)
            else:
                writes.append(_upsert(policy))
        if writes:
            result = await collection.bulk_write(writes, ordered=True)
            report.created += result.upserted_count
            report.updated += result.matched_count
        if progress is not None:
            progress(min(start + batch_rows, len(rows)), len(rows))
    after = {
        "created": report.created,
        "updated": report.updated,
        "rejected_rows": len({problem.field.split(".")[0] for problem in report.rejected}),
    }
    if programmes:
        after |= {
            "programmes_created": report.programmes_created,
            "programmes_updated": report.programmes_updated,
        }
    await audit.record(
        caller, AuditAction.POLICIES_IMPORTED, target_type="policy_registry", after=after
    )
    return report


async def _import_programmes(programmes: list[object], report: ImportReport) -> None:
    """Each valid programme is one upsert, all in one ordered bulk write."""
    writes = []
    for number, entry in enumerate(programmes, start=1):
        programme = programme_import.validate_programme(entry, number, _required_date)
        if isinstance(programme, list):
            report.rejected.extend(programme)
        else:
            writes.append(programme_import.upsert(programme))
    if writes:
        result = await ProgrammeDocument.get_pymongo_collection().bulk_write(writes, ordered=True)
        report.programmes_created += result.upserted_count
        report.programmes_updated += result.matched_count
