"""Personal data (guide 2.1): full name, gender, date of birth, language."""

from dataclasses import dataclass
from datetime import date
from enum import Enum

from kabinet.clock import now
from kabinet.documents import Gender, UserDocument
from kabinet.i18n import Locale
from kabinet.resolvers.errors import FieldErrorCode, FieldProblem, InvalidInput
from kabinet.resolvers.validation import Checked

OLDEST_BIRTH_YEAR = 1900


class Keep(Enum):
    """A field the client did not send: its value stays as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """What a client sent; ``None`` clears a field (refused for the required ones)."""

    last_name: str | Keep | None = KEEP
    first_name: str | Keep | None = KEEP
    middle_name: str | Keep | None = KEEP
    gender: Gender | Keep | None = KEEP
    birth_date: date | Keep | None = KEEP
    locale: Locale | Keep | None = KEEP


def is_complete(user: UserDocument) -> bool:
    """Whether the guide's required data (surname, name, gender, date of birth) is filled in."""
    profile = user.profile
    return None not in (profile.last_name, profile.first_name, profile.gender, profile.birth_date)


async def update_profile(
    *, user: UserDocument, changes: ProfileChanges
) -> UserDocument | InvalidInput:
    checked = Checked()
    updates: dict[str, object] = {}
    if changes.last_name is not KEEP:
        updates["profile.last_name"] = checked.name(changes.last_name, "lastName", required=True)
    if changes.first_name is not KEEP:
        updates["profile.first_name"] = checked.name(changes.first_name, "firstName", required=True)
    if changes.middle_name is not KEEP:
        updates["profile.middle_name"] = checked.name(
            changes.middle_name, "middleName", required=False
        )
    if changes.gender is not KEEP:
        if changes.gender is None:
            checked.problems.append(FieldProblem("gender", FieldErrorCode.REQUIRED))
        updates["profile.gender"] = changes.gender
    if changes.birth_date is not KEEP:
        if changes.birth_date is None:
            checked.problems.append(FieldProblem("birthDate", FieldErrorCode.REQUIRED))
        updates["profile.birth_date"] = _birth_date(changes.birth_date, checked)
    if changes.locale not in (KEEP, None):
        updates["locale"] = changes.locale
    if checked.problems:
        return InvalidInput(checked.problems)
    if updates:
        updates["updated_at"] = now()
        await user.set(updates)
    return user


def _birth_date(value: date | None, checked: Checked) -> date | None:
    if value is None:
        return None
    if value > now().date():
        checked.problems.append(FieldProblem("birthDate", FieldErrorCode.BIRTH_DATE_IN_FUTURE))
    elif value.year < OLDEST_BIRTH_YEAR:
        checked.problems.append(
            FieldProblem(
                "birthDate", FieldErrorCode.BIRTH_DATE_TOO_OLD, {"year": OLDEST_BIRTH_YEAR}
            )
        )
    return value
