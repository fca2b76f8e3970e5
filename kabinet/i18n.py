"""User-facing text in Ukrainian (default) and English, from gettext catalogues.

Every message a person can read (errors, emails, SMS, the emailed-link pages) is in
``kabinet/locale/<locale>/LC_MESSAGES/kabinet.po`` with its message key as the msgid.
A message with a count has plural forms, and its msgid_plural names the parameter that
picks the form (``msgid_plural "{attempts_left}"``). Babel compiles a catalogue in
memory the first time its language is used, so nothing generated is checked in.
``tests/test_i18n.py`` fails on a key the code uses that a catalogue lacks, on an
untranslated or fuzzy entry and on placeholders that differ; docs/translating.md says
how to add or change a message.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations


class Locale(StrEnum):
    UK = "uk"
    EN = "en"


DEFAULT_LOCALE = Locale.UK
DOMAIN = "kabinet"
CATALOGUES = Path(__file__).parent / "locale"
# Where the company and its members are: a moment in a message reads as their clock shows.
READERS_ZONE = ZoneInfo("Europe/Kyiv")
# An amount of money: kopecks always, thousands grouped as the language groups them.
MONEY_FORMAT = "#,##0.00"


def catalogue_path(locale: Locale) -> Path:
    """The ``.po`` file translators edit for ``locale``."""
    return CATALOGUES / locale.value / "LC_MESSAGES" / f"{DOMAIN}.po"


def N_(key: str) -> str:
    """Marks ``key`` as a message id translated later (gettext's no-op), so extraction
    finds the keys that code chooses at run time."""
    return key


@dataclass(frozen=True, slots=True)
class _Compiled:
    translations: Translations
    keys: frozenset[str]
    counted_by: dict[str, str]  # a plural message's key -> the parameter holding its count


@cache
def _compiled(locale: Locale) -> _Compiled:
    """``locale``'s catalogue compiled to ``.mo`` in memory, fuzzy entries left out."""
    with catalogue_path(locale).open("rb") as po:
        catalogue = read_po(po, locale=locale.value, domain=DOMAIN)
    mo = BytesIO()
    write_mo(mo, catalogue, use_fuzzy=False)
    mo.seek(0)
    translated = [entry for entry in catalogue if entry.id and entry.string and not entry.fuzzy]
    return _Compiled(
        translations=Translations(mo, domain=DOMAIN),
        keys=frozenset(entry.id[0] if entry.pluralizable else entry.id for entry in translated),
        counted_by={
            entry.id[0]: entry.id[1].strip("{}") for entry in translated if entry.pluralizable
        },
    )


def message_keys(locale: Locale) -> frozenset[str]:
    """The keys ``locale``'s catalogue translates."""
    return _compiled(locale).keys


class Phrase:
    """A message parameter worded in the message's language when it is translated."""

    def worded(self, locale: Locale) -> str:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Term(Phrase):
    """A parameter that is itself a message, e.g. a status's label instead of its enum name."""

    key: str

    def worded(self, locale: Locale) -> str:
        return translate(self.key, locale)


@dataclass(frozen=True, slots=True)
class Wait(Phrase):
    """A wait in words, rounded up to what a person reads: seconds under a minute, minutes
    under an hour, then hours and minutes ("1 годину 5 хвилин"); the units are plural
    messages in the accusative that follows "через"."""

    seconds: int

    def worded(self, locale: Locale) -> str:
        if self.seconds < 60:
            return translate("wait.seconds", locale, count=max(1, self.seconds))
        minutes = math.ceil(self.seconds / 60)
        if minutes < 60:
            return translate("wait.minutes", locale, count=minutes)
        hours, minutes = divmod(minutes, 60)
        words = translate("wait.hours", locale, count=hours)
        if not minutes:
            return words
        return f"{words} {translate('wait.minutes', locale, count=minutes)}"


def written_day(value: date, locale: Locale) -> str:
    """A day as ``locale`` writes it in full, by Babel: "30 вересня 2026 р.", "September
    30, 2026"."""
    return format_date(value, format="long", locale=locale.value)


def parameter_text(value: object, locale: Locale) -> object:
    """A message parameter as the reader's language writes it, by Babel: phrases worded, money
    (a `Decimal`) with the language's separators ("100 000,00", "100,000.00"), days in
    full (`written_day`), moments as a day and a time in Kyiv."""
    if isinstance(value, Phrase):
        return value.worded(locale)
    if isinstance(value, Decimal):
        return format_decimal(value, format=MONEY_FORMAT, locale=locale.value)
    if isinstance(value, datetime):
        return format_datetime(value, format="medium", tzinfo=READERS_ZONE, locale=locale.value)
    if isinstance(value, date):
        return written_day(value, locale)
    return value


def translate(key: str, locale: Locale, **params: object) -> str:
    """The message ``key`` in ``locale`` with ``params`` filled in; a plural message takes
    the form for the count its catalogue names. An unknown key is a ``LookupError``."""
    compiled = _compiled(locale)
    if key not in compiled.keys:
        raise LookupError(f"no message {key!r} in the {locale.value} catalogue")
    if count := compiled.counted_by.get(key):
        text = compiled.translations.ngettext(key, key, params[count])
    else:
        text = compiled.translations.gettext(key)
    return text.format(**{name: parameter_text(value, locale) for name, value in params.items()})


def negotiate_locale(accept_language: str | None) -> Locale:
    """The first supported language of an ``Accept-Language`` header, by quality."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for negative_quality, _, tag in sorted(ranked):
        language = tag.split("-")[0]
        if negative_quality < 0 and language in Locale._value2member_map_:
            return Locale(language)
    return DEFAULT_LOCALE
