"""Checks shared by the use cases: trimmed text, people's names."""

import re
import unicodedata
from dataclasses import dataclass, field

import phonenumbers

from kabinet.resolvers.errors import FieldProblem

# Ukrainian names are written with the modifier-letter apostrophe; people type any of these.
_APOSTROPHES = re.compile(r"[\'’`ʻ‘]")
_NAME_PART = r"[^\W\d_]+"
_NAME = re.compile(rf"^{_NAME_PART}(?:[ ʼ-]{_NAME_PART})*$")


def _latin_or_cyrillic(char: str) -> bool:
    name = unicodedata.name(char, "")
    return name.startswith(("LATIN", "CYRILLIC"))


@dataclass
class Checked:
    """Collects cleaned values and the problems found on the way."""

    problems: list[FieldProblem] = field(default_factory=list)

    def text(self, value: str | None, path: str, *, max_length: int, required: bool) -> str | None:
        """``value`` trimmed with inner white space folded; ``None`` when empty and optional."""
        cleaned = " ".join((value or "").split())
        if not cleaned:
            if required:
                self.problems.append(FieldProblem(path, "field.required"))
            return None
        if len(cleaned) > max_length:
            self.problems.append(FieldProblem(path, "field.too_long", {"max_length": max_length}))
            return None
        return cleaned

    def name(self, value: str | None, path: str, *, required: bool) -> str | None:
        """A surname, given name or patronymic in Ukrainian or Latin script."""
        cleaned = self.text(value, path, max_length=60, required=required)
        if cleaned is None:
            return None
        cleaned = _APOSTROPHES.sub("ʼ", cleaned)
        letters = [char for char in cleaned if char not in " ʼ-"]
        if not _NAME.match(cleaned) or not all(map(_latin_or_cyrillic, letters)):
            self.problems.append(FieldProblem(path, "field.name_invalid"))
            return None
        return cleaned


def parse_phone(value: str, path: str) -> str | FieldProblem:
    """A Ukrainian mobile number in E.164, from the ways people type it."""
    try:
        number = phonenumbers.parse(value, "UA")
    except phonenumbers.NumberParseException:
        return FieldProblem(path, "field.contact_invalid")
    if not phonenumbers.is_valid_number(number):
        return FieldProblem(path, "field.contact_invalid")
    if (
        phonenumbers.region_code_for_number(number) != "UA"
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        return FieldProblem(path, "field.phone_not_ukrainian_mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
