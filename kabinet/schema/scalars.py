"""Scalars whose wire form Strawberry's defaults leave open."""

from datetime import UTC, datetime

import strawberry
from strawberry.schema.types.base_scalars import DateTimeDefinition


def rfc3339(moment: datetime) -> str:
    """A time with its offset: a time read without a zone (the embedded engine's change
    stream decodes them so) is UTC, and JavaScript would read it as local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


DateTime = strawberry.scalar(
    name="DateTime",
    description="A date and time in RFC 3339 with its UTC offset, e.g. "
    "`2026-11-28T06:30:48.717000+00:00`. In input a time without an offset is taken as UTC.",
    specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339",
    serialize=rfc3339,
    # Input as Strawberry's own DateTime reads it (ISO 8601, a clear error otherwise).
    parse_value=DateTimeDefinition.parse_value,
)
