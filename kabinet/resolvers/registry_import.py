"""What the insurer's registry imports share (cards: policy_import, providers:
provider_import): reading a CSV or JSON file into rows, the checks of a row's values,
and the import itself: every row validated on its own, a bad row reported with its
number and reasons and written not at all, a good row one atomic upsert, sent with the
other rows of its batch in one bulk write, and the counts audited."""

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from beanie import Document
from pymongo import UpdateOne

from kabinet.auth.context import Caller
from kabinet.documents import AuditAction
from kabinet.resolvers import audit
from kabinet.resolvers.errors import FieldErrorCode, FieldProblem, InvalidInput
from kabinet.resolvers.validation import Checked

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
BATCH_ROWS = 500
# Rows done and rows in all, after each batch.
Progress = Callable[[int, int], None]
# One row (numbered from 1) as its upsert, or every problem of the row.
ValidateRow = Callable[[dict[str, object], int], UpdateOne | list[FieldProblem]]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[FieldProblem] = field(default_factory=list)

    def summary(self) -> str:
        """The counts, as the command line prints them."""
        return f"created {self.created}, updated {self.updated}"


@dataclass(frozen=True, slots=True)
class Registry:
    """What a registry file holds: its rows, and the lists a JSON object gives beside them."""

    rows: list[dict[str, object]]
    sections: dict[str, list[object]] = field(default_factory=dict)


def parse_registry(
    content: bytes,
    filename: str,
    *,
    rows_key: str | None = None,
    sections: frozenset[str] = frozenset(),
) -> Registry | InvalidInput:
    """Rows of a CSV (header line, comma or semicolon) or JSON file: an array of objects,
    or, given ``rows_key``, an object with that array under ``rows_key`` and other lists
    under ``sections`` (e.g. the card registry's `programmes`)."""
    unreadable = InvalidInput([FieldProblem("file", FieldErrorCode.FILE_UNREADABLE)])
    if len(content) > MAX_FILE_BYTES:
        return InvalidInput([FieldProblem("file", FieldErrorCode.FILE_TOO_LARGE, {"max_mb": 5})])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return unreadable
    stripped = text.lstrip()
    extra: dict[str, list[object]] = {}
    if filename.lower().endswith(".json") or stripped.startswith(("[", "{")):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError:
            return unreadable
        if rows_key and isinstance(rows, dict) and set(rows) <= {rows_key, *sections}:
            extra = {name: rows[name] for name in sections if name in rows}
            rows = rows.get(rows_key, [])
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            return unreadable
        if not all(isinstance(entries, list) for entries in extra.values()):
            return unreadable
    else:
        try:
            dialect = csv.Sniffer().sniff(stripped.splitlines()[0] if stripped else ",", ",;")
            rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
        except csv.Error:
            return unreadable
    if len(rows) + sum(len(entries) for entries in extra.values()) > MAX_ROWS:
        return InvalidInput(
            [FieldProblem("file", FieldErrorCode.TOO_MANY_ROWS, {"max_rows": MAX_ROWS})]
        )
    return Registry(rows, extra)


def choice[E: StrEnum](
    value: object, path: str, kind: type[E], checked: Checked, default: E | None = None
) -> E | None:
    """One of ``kind``'s values, in any case; ``default`` when empty, else required."""
    text = str(value or "").strip().lower()
    if not text and default is not None:
        return default
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(member.name for member in kind)
        checked.fail(path, FieldErrorCode.CHOICE_INVALID, allowed=allowed)
        return None


@dataclass
class RowChecks:
    """The checks of one row's columns; problems at `rows[N].column`."""

    row: dict[str, object]
    line: int
    checked: Checked = field(default_factory=Checked)

    def at(self, column: str) -> str:
        return f"rows[{self.line}].{column}"

    def fail(self, column: str, code: FieldErrorCode, **params: object) -> None:
        self.checked.fail(self.at(column), code, **params)

    def text(self, column: str, max_length: int, *, required: bool) -> str | None:
        value = self.row.get(column)
        return self.checked.text(
            None if value is None else str(value),
            self.at(column),
            max_length=max_length,
            required=required,
        )

    def choice[E: StrEnum](self, column: str, kind: type[E], default: E | None = None) -> E | None:
        return choice(self.row.get(column), self.at(column), kind, self.checked, default)

    def items(self, column: str) -> list[str]:
        """A list column: a JSON array, or a CSV cell separated by commas or semicolons."""
        raw = self.row.get(column) or []
        typed = raw if isinstance(raw, list) else re.split(r"[;,]", str(raw))
        return [text for text in (str(item).strip() for item in typed) if text]

    def texts(self, column: str, max_length: int) -> list[str]:
        """A list column of texts, each checked as `text`, each once."""
        cleaned: list[str] = []
        for item in self.items(column):
            text = self.checked.text(item, self.at(column), max_length=max_length, required=True)
            if text is not None and text not in cleaned:
                cleaned.append(text)
        return cleaned

    def phones(self, column: str, parse: Callable[[str, str], str | FieldProblem]) -> list[str]:
        """A list column of phones, each as ``parse`` reads it (E.164), each once."""
        phones: list[str] = []
        for typed in self.items(column):
            phone = parse(typed, self.at(column))
            if isinstance(phone, FieldProblem):
                self.checked.problems.append(phone)
            elif phone not in phones:
                phones.append(phone)
        return phones

    @property
    def problems(self) -> list[FieldProblem]:
        return self.checked.problems


async def import_rows[R: ImportReport](
    *,
    caller: Caller,
    rows: list[dict[str, object]],
    document: type[Document],
    validate: ValidateRow,
    action: AuditAction,
    target_type: str,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
    report: R,
    audited: dict[str, object] | None = None,
) -> R:
    """Upsert every valid row, ``batch_rows`` rows to a bulk write into ``document``'s
    collection, counted in ``report``; the first row after a CSV header is row 1. Within
    a batch the writes apply in row order, so of two rows with one key the later wins, as
    it would row by row. The counts (and ``audited``) are audited as ``action``."""
    collection = document.get_pymongo_collection()
    for start in range(0, len(rows), batch_rows):
        writes: list[UpdateOne] = []
        for line, row in enumerate(rows[start : start + batch_rows], start=start + 1):
            write = validate(row, line)
            if isinstance(write, list):
                report.rejected.extend(write)
            else:
                writes.append(write)
        if writes:
            result = await collection.bulk_write(writes, ordered=True)
            report.created += result.upserted_count
            report.updated += result.matched_count
        if progress is not None:
            progress(min(start + batch_rows, len(rows)), len(rows))
    await audit.record(
        caller,
        action,
        target_type=target_type,
        after={
            "created": report.created,
            "updated": report.updated,
            "rejected_rows": len({problem.field.split(".")[0] for problem in report.rejected}),
            **(audited or {}),
        },
    )
    return report
