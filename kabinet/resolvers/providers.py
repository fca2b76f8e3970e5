"""The provider directory (issue 17 item 4): its import from the insurer's registry
(upserting by `code`, row by row as `registry_import` does every import; the format is
in docs/provider-import.md), the `providers` list and the providers requests name.

A list is one query on `directory_keys` (kabinet.documents.provider): by name, a page
from the `by_name` index after the cursor; near a point, the providers of the filter
within the radius, read by the grid cells the radius touches (one query, at most
`MAX_NEAR_CANDIDATES` of them, a few fields each), ranked by distance here, and the
page's documents read by id: two queries, however many providers there are.
"""

import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from beanie import PydanticObjectId
from bson.errors import InvalidId
from pymongo import UpdateOne

from kabinet.auth.context import Caller
from kabinet.clock import now
from kabinet.documents import AuditAction, RequestKind
from kabinet.documents.provider import (
    EVERY_PROVIDER,
    GeoPoint,
    OpeningHours,
    ProviderDocument,
    ProviderKind,
    Weekday,
    cell_key,
    city_keys,
    grid_index,
    kind_key,
    name_key,
    programme_key,
    specialty_key,
)
from kabinet.documents.search_keys import words
from kabinet.resolvers import registry_import
from kabinet.resolvers.errors import FieldErrorCode, FieldProblem, InvalidInput
from kabinet.resolvers.pages import counter
from kabinet.resolvers.registry_import import (
    BATCH_ROWS,
    ImportReport,
    Progress,
    Registry,
    RowChecks,
)
from kabinet.resolvers.scopes import find_by_ids
from kabinet.resolvers.validation import Checked, parse_any_phone

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,39}$")
_DAYS = {day.name[:3].lower(): day for day in Weekday}
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d"
_HOURS = re.compile(
    rf"^(?P<days>24/7|daily|[a-z]{{3}}(?:-[a-z]{{3}})?)"
    rf"(?:\s+(?P<opens>{_TIME})\s*-\s*(?P<closes>{_TIME}|24:00))?$"
)
MAX_LIST_ITEMS = 30

# With a point: the radius when none is given, the largest, and how many providers of
# the filter within it are ranked at most (more is refused as too broad).
DEFAULT_RADIUS_KM = 25.0
MAX_RADIUS_KM = 100.0
MAX_NEAR_CANDIDATES = 1000


# ---- the import


def parse_opening_hours(typed: list[str]) -> list[OpeningHours] | None:
    """Groups such as "mon-fri 08:00-20:00", "sat 09:00-14:00", "daily 08:00-22:00" or
    "24/7", as one entry per day; None when a group is not one of those forms, a range of
    days runs backwards, or a day closes before it opens."""
    hours: dict[Weekday, OpeningHours] = {}
    for group in typed:
        match = _HOURS.match(" ".join(group.lower().split()))
        if match is None:
            return None
        days_text, opens, closes = match["days"], match["opens"], match["closes"]
        if days_text == "24/7":
            if opens is not None:
                return None
            opens, closes = "00:00", "24:00"
        elif opens is None or closes <= opens:
            return None
        if days_text in ("24/7", "daily"):
            days = list(Weekday)
        else:
            first, _, last = days_text.partition("-")
            if first not in _DAYS or (last and (last not in _DAYS or _DAYS[last] < _DAYS[first])):
                return None
            days = [day for day in Weekday if _DAYS[first] <= day <= _DAYS[last or first]]
        for day in days:
            hours[day] = OpeningHours(day=day, opens=opens, closes=closes)
    return [hours[day] for day in sorted(hours)]


def _coordinate(checks: RowChecks, column: str, limit: float) -> float | None:
    raw = checks.row.get(column)
    text = "" if raw is None else str(raw).strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not -limit <= value <= limit:  # NaN fails too
        checks.fail(column, FieldErrorCode.COORDINATES_INVALID)
        return None
    return value


def _location(checks: RowChecks) -> GeoPoint | None:
    """Both coordinates or neither; each within its range."""
    given = {column: str(checks.row.get(column) or "").strip() for column in ("lat", "lon")}
    lat = _coordinate(checks, "lat", 90.0)
    lon = _coordinate(checks, "lon", 180.0)
    for column, other in (("lat", "lon"), ("lon", "lat")):
        if given[other] and not given[column]:
            checks.fail(column, FieldErrorCode.COORDINATES_INCOMPLETE)
    return GeoPoint(lat=lat, lon=lon) if lat is not None and lon is not None else None


def validate_row(row: dict[str, object], line: int) -> ProviderDocument | list[FieldProblem]:
    """The provider a row describes, or every problem of the row (paths `rows[N].column`)."""
    checks = RowChecks(row, line)
    code = checks.text("code", 40, required=True)
    if code is not None and not _CODE.match(code):
        checks.fail("code", FieldErrorCode.PROVIDER_CODE_INVALID)
    kind = checks.choice("kind", ProviderKind)
    name = checks.text("name", 200, required=True)
    city = checks.text("city", 100, required=True)
    address = checks.text("address", 300, required=True)
    phones = checks.phones("phones", parse_any_phone)
    specialties = checks.texts("specialties", 100)
    programmes = checks.texts("programmes", 120)
    for column, values in (("specialties", specialties), ("programmes", programmes)):
        if len(values) > MAX_LIST_ITEMS:
            checks.fail(column, FieldErrorCode.TOO_MANY_ITEMS, max_items=MAX_LIST_ITEMS)
    hours = parse_opening_hours(checks.items("opening_hours"))
    if hours is None:
        checks.fail("opening_hours", FieldErrorCode.OPENING_HOURS_INVALID)
    location = _location(checks)
    if checks.problems:
        return checks.problems
    return ProviderDocument(
        code=code or "",
        kind=kind or ProviderKind.CLINIC,
        name=name or "",
        city=city or "",
        address=address or "",
        phones=phones,
        specialties=specialties,
        opening_hours=hours or [],
        programmes=programmes,
        location=location,
    )


def _upsert(provider: ProviderDocument) -> UpdateOne:
    fields = provider.model_dump(
        exclude={"id", "revision_id", "created_at", "updated_at"}, mode="python"
    )
    fields.update(provider.derived_fields())
    moment = now()
    return UpdateOne(
        {"code": provider.code},
        {"$set": {**fields, "updated_at": moment}, "$setOnInsert": {"created_at": moment}},
        upsert=True,
    )


def _row_upsert(row: dict[str, object], line: int) -> UpdateOne | list[FieldProblem]:
    provider = validate_row(row, line)
    return provider if isinstance(provider, list) else _upsert(provider)


async def import_rows(
    *,
    caller: Caller,
    rows: list[dict[str, object]],
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportReport:
    """Upsert every valid row by code (`registry_import.import_rows`)."""
    return await registry_import.import_rows(
        caller=caller,
        rows=rows,
        document=ProviderDocument,
        validate=_row_upsert,
        action=AuditAction.PROVIDERS_IMPORTED,
        target_type="provider_registry",
        progress=progress,
        batch_rows=batch_rows,
        report=ImportReport(),
    )


async def import_registry(
    *, caller: Caller, registry: Registry, progress: Progress | None = None
) -> ImportReport:
    """A parsed directory file's rows (`registry_import.parse_registry`)."""
    return await import_rows(caller=caller, rows=registry.rows, progress=progress)


# ---- the list


@dataclass(frozen=True, slots=True)
class Near:
    point: GeoPoint
    radius_km: float = DEFAULT_RADIUS_KM


@dataclass(frozen=True, slots=True)
class ProviderFilter:
    city: str | None = None
    kind: ProviderKind | None = None
    specialty: str | None = None
    programme: str | None = None
    text: str | None = None
    near: Near | None = None


@dataclass(frozen=True, slots=True)
class ProviderPage:
    # Each provider of the page with its distance from the point (None: no point).
    providers: list[tuple[ProviderDocument, float | None]]
    has_next: bool
    count: Callable[[], Awaitable[int]]  # run only when the total is asked for


def _keys(given: ProviderFilter, checked: Checked) -> list[str]:
    """The keys every provider the filter names holds; problems go to ``checked``."""
    keys: list[str] = []
    for field, value, length in (
        ("city", given.city, 100),
        ("specialty", given.specialty, 100),
        ("programme", given.programme, 120),
        ("text", given.text, 200),
    ):
        text = checked.text(value, f"filter.{field}", max_length=length, required=False)
        if text is None or not words(text):
            continue
        if field == "city":
            keys.append(city_keys(text)[0])
        elif field == "specialty":
            keys.append(specialty_key(text))
        elif field == "programme":
            keys.append(programme_key(text))
        else:
            keys.extend(name_key(word) for word in words(text))
    if given.kind is not None:
        keys.append(kind_key(given.kind))
    return keys or [EVERY_PROVIDER]


def _near_problems(near: Near, checked: Checked) -> None:
    if not (-90 <= near.point.lat <= 90 and -180 <= near.point.lon <= 180):
        checked.fail("filter.near", FieldErrorCode.COORDINATES_INVALID)
    if not 0 < near.radius_km <= MAX_RADIUS_KM:
        checked.fail("filter.near.radiusKm", FieldErrorCode.RADIUS_INVALID)


def _cells_around(near: Near) -> list[str]:
    """The grid cells of every point within the radius (of its bounding box)."""
    lat, lon = near.point.lat, near.point.lon
    dlat = near.radius_km / 111.0
    dlon = near.radius_km / (111.0 * max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 0.01))
    rows = range(grid_index(lat - dlat), grid_index(lat + dlat) + 1)
    columns = range(grid_index(lon - dlon), grid_index(lon + dlon) + 1)
    return [cell_key(row, column) for row in rows for column in columns]


# What a cursor holds: the order's tag, then the position.
BY_NAME, BY_DISTANCE = "name", "near"


def encode_position(tag: str, provider: ProviderDocument, distance: float | None) -> str:
    """A provider's place in a list: by name (name, id) or by distance (distance, name, id)."""
    place = f"{distance!r}|" if distance is not None else ""
    return f"{tag}|{place}{provider.sort_name}|{provider.id}"


def _decode_position(position: str, tag: str) -> tuple[float, str, str] | tuple[str, str] | None:
    head, _, rest = position.partition("|")
    if head != tag:
        return None
    if tag == BY_NAME:
        name, _, provider_id = rest.rpartition("|")
        return (name, provider_id) if provider_id else None
    distance, _, rest = rest.partition("|")
    name, _, provider_id = rest.rpartition("|")
    try:
        return (float(distance), name, provider_id) if provider_id else None
    except ValueError:
        return None


class BadCursor(Exception):
    """``after`` is not a cursor of this list in this order."""


async def find_providers(
    *, given: ProviderFilter, first: int, after: str | None
) -> ProviderPage | InvalidInput:
    """A page of the directory: by name, or by distance from ``given.near``. Raises
    `BadCursor` for a cursor of another order or none at all."""
    checked = Checked()
    keys = _keys(given, checked)
    if given.near is not None:
        _near_problems(given.near, checked)
    if checked.problems:
        return InvalidInput(checked.problems)
    query: dict[str, object] = {"directory_keys": {"$all": keys}}
    if given.near is None:
        return await _by_name(query, first, after)
    return await _by_distance(query, given.near, first, after)


async def _by_name(query: dict[str, object], first: int, after: str | None) -> ProviderPage:
    position = _decode_position(after, BY_NAME) if after is not None else None
    if after is not None and position is None:
        raise BadCursor
    page_query = query
    if position is not None:
        name, provider_id = position  # type: ignore[misc]
        oid = _object_id(provider_id)
        page_query = {
            "$and": [
                query,
                {"$or": [{"sort_name": {"$gt": name}}, {"sort_name": name, "_id": {"$gt": oid}}]},
            ]
        }
    found = (
        await ProviderDocument.find(page_query)
        .sort([("sort_name", 1), ("_id", 1)])
        .limit(first + 1)
        .to_list()
    )
    return ProviderPage(
        [(p, None) for p in found[:first]],
        has_next=len(found) > first,
        count=counter(ProviderDocument, query),
    )


def _object_id(value: str) -> PydanticObjectId:
    try:
        return PydanticObjectId(value)
    except (InvalidId, TypeError) as error:
        raise BadCursor from error


async def _by_distance(
    query: dict[str, object], near: Near, first: int, after: str | None
) -> ProviderPage | InvalidInput:
    position = _decode_position(after, BY_DISTANCE) if after is not None else None
    if after is not None and position is None:
        raise BadCursor
    cells = {"directory_keys": {"$in": _cells_around(near)}}
    candidates = (
        await ProviderDocument.get_pymongo_collection()
        .find({"$and": [query, cells]}, {"location": 1, "sort_name": 1})
        .limit(MAX_NEAR_CANDIDATES + 1)
        .batch_size(MAX_NEAR_CANDIDATES + 1)
        .to_list()
    )
    if len(candidates) > MAX_NEAR_CANDIDATES:
        return InvalidInput([FieldProblem("filter.near", FieldErrorCode.NEAR_TOO_BROAD)])
    within = sorted(
        (distance, candidate["sort_name"], str(candidate["_id"]))
        for candidate in candidates
        if (distance := near.point.distance_km(GeoPoint(**candidate["location"]))) <= near.radius_km
    )

    async def count() -> int:
        return len(within)

    page = [place for place in within if position is None or place > position][: first + 1]
    ids = [PydanticObjectId(provider_id) for _, _, provider_id in page[:first]]
    documents = await find_by_ids(ProviderDocument, {}, ids)
    return ProviderPage(
        [
            (document, distance)
            for (distance, _, _), document in zip(page, documents, strict=False)
            if document is not None
        ],
        has_next=len(page) > first,
        count=count,
    )


# ---- the providers requests name


# The kind of provider a request of each kind may name.
PROVIDER_KINDS: dict[RequestKind, ProviderKind] = {
    RequestKind.DOCTOR_APPOINTMENT: ProviderKind.CLINIC,
    RequestKind.LAB_TESTS: ProviderKind.LABORATORY,
    RequestKind.MEDICATIONS: ProviderKind.PHARMACY,
}


async def find_providers_by_id(
    provider_ids: Sequence[PydanticObjectId],
) -> list[ProviderDocument | None]:
    """The providers among ``provider_ids``, in their order: one query (anyone signed in
    may read the directory)."""
    return await find_by_ids(ProviderDocument, {}, provider_ids)


async def provider_for(
    kind: RequestKind, provider_id: PydanticObjectId | None, path: str, checked: Checked
) -> ProviderDocument | None:
    """The provider a ``kind`` request (or its outcome) names: one of the directory, of
    the kind such a request goes to; problems go to ``checked``."""
    if provider_id is None:
        checked.fail(path, FieldErrorCode.PROVIDER_UNKNOWN)
        return None
    (provider,) = await find_providers_by_id([provider_id])
    if provider is None:
        checked.fail(path, FieldErrorCode.PROVIDER_UNKNOWN)
        return None
    if provider.kind is not PROVIDER_KINDS[kind]:
        checked.fail(path, FieldErrorCode.PROVIDER_KIND_MISMATCH, allowed=PROVIDER_KINDS[kind].name)
        return None
    return provider
