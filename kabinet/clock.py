"""The one clock of the application.

Every "now" comes from here so that tests can move time forward (token expiry,
cooldowns) instead of sleeping.
"""

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock UTC time with an adjustable offset for tests."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        # MongoDB keeps milliseconds: round here so that what we compare in
        # Python equals what we read back from the database.
        instant = datetime.now(UTC) + self._offset
        return instant.replace(microsecond=instant.microsecond // 1000 * 1000)

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    def reset(self) -> None:
        self._offset = timedelta(0)


clock = Clock()


def now() -> datetime:
    return clock.now()


def aware(moment: datetime) -> datetime:
    """``moment`` with a time zone; a client's time without one is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
