"""Checks shared by the use cases: free text, people's names, phones, idempotency keys,
lists of texts, amounts of money and IBANs."""

import re
import unicodedata
from collections.abc import Sized
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import phonenumbers
from stdnum import iban as stdnum_iban

from kabinet.resolvers.errors import FieldErrorCode, FieldProblem

# Ukrainian names are written with the modifier-letter apostrophe; people type any of these.
_APOSTROPHES = re.compile(r"[\'’`ʻ‘]")
_NAME_PART = r"[^\W\d_]+"
_NAME = re.compile(rf"^{_NAME_PART}(?:[ ʼ-]{_NAME_PART})*$")


# Characters that reorder what follows them (embeddings, overrides, isolates): an
# operator would read `pay to \u202eNABI` as something else than what was typed.
_DIRECTION_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
_AMOUNT = re.compile(r"^[0-9]{1,9}([.,][0-9]{1,2})?$")


def _without_invisible(text: str) -> str | None:
    """``text`` without invisible format characters (zero-width spaces, joiners, soft
    hyphens, byte-order marks), or None when it holds a control or direction character,
    which is refused rather than silently changed."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc" or char in _DIRECTION_CONTROLS:
            return None
        if category != "Cf":
            kept.append(char)
    return "".join(kept)


def _latin_or_cyrillic(char: str) -> bool:
    name = unicodedata.name(char, "")
    return name.startswith(("LATIN", "CYRILLIC"))


@dataclass
class Checked:
    """Collects cleaned values and the problems found on the way."""

    problems: list[FieldProblem] = field(default_factory=list)

    def fail(self, path: str, code: FieldErrorCode, **params: object) -> None:
        self.problems.append(FieldProblem(path, code, params))

    def text(self, value: str | None, path: str, *, max_length: int, required: bool) -> str | None:
        """Free text as every field stores it: white space trimmed and folded, invisible
        characters removed, control and direction characters refused; ``None`` when empty
        and optional."""
        visible = _without_invisible(" ".join((value or "").split()))
        if visible is None:
            self.problems.append(FieldProblem(path, FieldErrorCode.CONTROL_CHARACTERS))
            return None
        cleaned = " ".join(visible.split())
        if not cleaned:
            if required:
                self.problems.append(FieldProblem(path, FieldErrorCode.REQUIRED))
            return None
        if len(cleaned) > max_length:
            self.problems.append(
                FieldProblem(path, FieldErrorCode.TOO_LONG, {"max_length": max_length})
            )
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
            self.problems.append(FieldProblem(path, FieldErrorCode.NAME_INVALID))
            return None
        return cleaned

    def count(self, values: Sized, path: str, *, max_items: int) -> None:
        """One to ``max_items`` values."""
        if not values:
            self.fail(path, FieldErrorCode.ITEMS_REQUIRED)
        if len(values) > max_items:
            self.fail(path, FieldErrorCode.TOO_MANY_ITEMS, max_items=max_items)

    def texts(self, values: list[str], path: str, *, max_items: int, max_length: int) -> list[str]:
        """One to ``max_items`` required texts, each checked as `text`."""
        self.count(values, path, max_items=max_items)
        texts = [
            self.text(value, f"{path}[{index}]", max_length=max_length, required=True)
            for index, value in enumerate(values)
        ]
        return [text for text in texts if text]

    def amount(
        self, typed: str, path: str, *, maximum: Decimal, above: FieldErrorCode | None = None
    ) -> str | None:
        """A positive amount of money up to ``maximum``, as a string with two decimals. One
        above it is ``above`` (naming the maximum) when given, else `AMOUNT_INVALID`."""
        text = typed.strip().replace(" ", "")
        try:
            amount = Decimal(text.replace(",", ".")) if _AMOUNT.match(text) else None
        except InvalidOperation:
            amount = None
        if amount is not None and amount > maximum and above is not None:
            self.fail(path, above, maximum=maximum)  # worded by the message's language
            return None
        if amount is None or not Decimal(0) < amount <= maximum:
            self.fail(path, FieldErrorCode.AMOUNT_INVALID)
            return None
        return f"{amount:.2f}"

    def iban(self, typed: str, path: str) -> str | None:
        """A Ukrainian IBAN as python-stdnum judges it: the length and format the IBAN
        registry gives Ukraine, then the ISO 13616 mod-97 check digits. The shape is judged
        with the check digits recomputed, so a typo in a digit is told apart from a wrong
        number."""
        compact = stdnum_iban.compact("".join(typed.split()))
        if not (compact.startswith("UA") and compact.isascii() and compact.isalnum()) or (
            not stdnum_iban.is_valid(
                compact[:2] + stdnum_iban.calc_check_digits(compact) + compact[4:]
            )
        ):
            self.fail(path, FieldErrorCode.IBAN_INVALID)
            return None
        if not stdnum_iban.is_valid(compact):
            self.fail(path, FieldErrorCode.IBAN_CHECKSUM_INVALID)
            return None
        return compact


def parse_idempotency_key(value: str | None, path: str) -> str | FieldProblem | None:
    """A client's key for retrying a submission: 8-128 characters of ``[A-Za-z0-9_-]``."""
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.match(value):
        return FieldProblem(path, FieldErrorCode.IDEMPOTENCY_KEY_INVALID)
    return value


def _ukrainian_number(value: str) -> phonenumbers.PhoneNumber | None:
    """A valid phone number as typed (national or international), or None."""
    try:
        number = phonenumbers.parse(value, "UA")
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def parse_any_phone(value: str, path: str) -> str | FieldProblem:
    """A Ukrainian number of any kind (landline, mobile, 0 800 ...) in E.164: a clinic's."""
    number = _ukrainian_number(value)
    if number is None or phonenumbers.region_code_for_number(number) != "UA":
        return FieldProblem(path, FieldErrorCode.PHONE_INVALID)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_phone(value: str, path: str) -> str | FieldProblem:
    """A Ukrainian mobile number in E.164, from the ways people type it."""
    number = _ukrainian_number(value)
    if number is None:
        return FieldProblem(path, FieldErrorCode.CONTACT_INVALID)
    if (
        phonenumbers.region_code_for_number(number) != "UA"
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        return FieldProblem(path, FieldErrorCode.PHONE_NOT_UKRAINIAN_MOBILE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
