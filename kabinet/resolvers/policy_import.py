"""Loading an insurer's policy registry (CSV or JSON), upserting by policy number, row
by row as `registry_import` does every import, and its programme definitions (JSON;
`programme_import`). The format is documented in docs/policy-import.md.
"""

import re
from dataclasses import dataclass
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
from kabinet.resolvers import programme_import, registry_import
from kabinet.resolvers.errors import FieldErrorCode, FieldProblem, InvalidInput
from kabinet.resolvers.registry_import import (
    BATCH_ROWS,
    ImportReport,
    Progress,
    Registry,
    RowChecks,
)
from kabinet.resolvers.validation import Checked, parse_phone

_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/.-]{0,39}$")
# A JSON registry may be an object: the cards under `policies`, programmes beside them.
PROGRAMMES = "programmes"


@dataclass
class RegistryReport(ImportReport):
    programmes_created: int = 0
    programmes_updated: int = 0

    def summary(self) -> str:
        programmes = self.programmes_created + self.programmes_updated
        return super().summary() + (
            f"\nprogrammes created {self.programmes_created}, updated {self.programmes_updated}"
            if programmes
            else ""
        )


def parse_registry(content: bytes, filename: str) -> Registry | InvalidInput:
    """The card rows of a CSV or JSON file, and the programmes of a JSON object
    (`Registry.sections["programmes"]`)."""
    return registry_import.parse_registry(
        content, filename, rows_key="policies", sections=frozenset({PROGRAMMES})
    )


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


def validate_row(row: dict[str, object], line: int) -> PolicyDocument | list[FieldProblem]:
    """The policy a row describes, or every problem of the row (paths `rows[N].column`)."""
    row_checks = RowChecks(row, line)
    checked, at, text = row_checks.checked, row_checks.at, row_checks.text

    number = text("number", 40, required=True)
    if number is not None and not _NUMBER.match(number):
        checked.problems.append(FieldProblem(at("number"), FieldErrorCode.POLICY_NUMBER_INVALID))
    insurer = text("insurer", 120, required=True)
    program = text("program", 120, required=True)
    status = row_checks.choice("status", PolicyStatus)
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
    relationship = row_checks.choice("relationship", Relationship, Relationship.SELF)
    phones = row_checks.phones("phones", parse_phone)
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


def _row_upsert(row: dict[str, object], line: int) -> UpdateOne | list[FieldProblem]:
    policy = validate_row(row, line)
    return policy if isinstance(policy, list) else _upsert(policy)


async def import_rows(
    *,
    caller: Caller,
    rows: list[dict[str, object]],
    programmes: list[object] | None = None,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> RegistryReport:
    """Upsert every valid programme (`programme_import`), then every valid row by number
    (`registry_import.import_rows`)."""
    report = RegistryReport()
    await _import_programmes(programmes or [], report)
    counted = (
        {
            "programmes_created": report.programmes_created,
            "programmes_updated": report.programmes_updated,
        }
        if programmes
        else None
    )
    return await registry_import.import_rows(
        caller=caller,
        rows=rows,
        document=PolicyDocument,
        validate=_row_upsert,
        action=AuditAction.POLICIES_IMPORTED,
        target_type="policy_registry",
        progress=progress,
        batch_rows=batch_rows,
        report=report,
        audited=counted,
    )


async def import_registry(
    *, caller: Caller, registry: Registry, progress: Progress | None = None
) -> RegistryReport:
    """A parsed registry file's cards and programmes (`parse_registry`)."""
    return await import_rows(
        caller=caller,
        rows=registry.rows,
        programmes=registry.sections.get(PROGRAMMES),
        progress=progress,
    )


def _required_date(value: object, path: str, checked: Checked) -> date | None:
    return _date(value, path, checked, required=True)


async def _import_programmes(programmes: list[object], report: RegistryReport) -> None:
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
