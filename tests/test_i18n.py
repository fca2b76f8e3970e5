"""Every user-facing message exists in Ukrainian and English, in gettext catalogues."""

import re
import string
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kabinet.documents import RequestStatus
from kabinet.i18n import (
    DEFAULT_LOCALE,
    DOMAIN,
    Locale,
    Term,
    Wait,
    catalogue_path,
    message_keys,
    negotiate_locale,
    parameter_text,
    translate,
    written_day,
)
from kabinet.labels import STATUS_LABELS
from kabinet.notify.templates import confirmation_email, contact_code_email
from kabinet.resolvers.errors import FieldErrorCode
from kabinet.resolvers.validation import Checked

# The calls whose arguments are message keys, as Babel's extraction keywords (the
# argument's position): `translate` and `N_` (a key chosen at run time) and the
# results of use cases that carry a key for the schema to translate.
MESSAGE_CALLS = {
    "translate": (1,),
    "N_": (1,),
    "Term": (1,),
    "Done": (1,),
    "InvalidCredentials": (1,),
    "TokenExpired": (1,),
    "NotAllowed": (2,),
    "Refusal": (2,),
    "DocumentRefused": (2,),
}


def used_keys(project_root: Path) -> dict[str, str]:
    """Each message key the code names, with where it does so first."""
    used: dict[str, str] = {}
    found = extract_from_dir(
        project_root / "kabinet", method_map=[("**.py", "python")], keywords=MESSAGE_CALLS
    )
    for filename, lineno, key, _, _ in found:
        used.setdefault(key, f"kabinet/{filename}:{lineno}")
    return used


def catalogue(text: str | None = None, locale: Locale = DEFAULT_LOCALE) -> Catalog:
    """A catalogue as translators left it: ``locale``'s file, or ``text``."""
    source = BytesIO(text.encode()) if text else catalogue_path(locale).open("rb")
    with source:
        return read_po(source, locale=locale.value, domain=DOMAIN)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def key_of(message: Message) -> str:
    return message.id[0] if message.pluralizable else message.id


def forms(message: Message) -> list[str]:
    return list(message.string) if message.pluralizable else [message.string]


def problems(catalogues: dict[Locale, Catalog], used: dict[str, str]) -> list[str]:
    """Everything wrong with ``catalogues`` for code that names the keys ``used``."""
    found: list[str] = []
    # What must agree across catalogues: the parameter a plural message counts by (None
    # when it has no plural forms) and the placeholders.
    shapes: dict[str, set[tuple[str | None, frozenset[str]]]] = {}
    for locale, parsed in catalogues.items():
        messages = {key_of(message): message for message in parsed if message.id}
        found += [
            f"{locale}: {key} ({where}) is missing"
            for key, where in used.items()
            if key not in messages
        ]
        found += [
            f"{locale}: {key} is used nowhere" for key in sorted(messages.keys() - used.keys())
        ]
        for key, message in messages.items():
            texts = forms(message)
            if message.fuzzy or not all(text.strip() for text in texts):
                found.append(f"{locale}: {key} is fuzzy or untranslated")
            named = {frozenset(placeholders(text)) for text in texts if text.strip()}
            if len(named) > 1:
                found.append(f"{locale}: the forms of {key} have different placeholders")
            shown = frozenset().union(*named)
            counted_by = message.id[1] if message.pluralizable else None
            if counted_by is not None and counted_by.strip("{}") not in shown:
                found.append(f"{locale}: {key} counts by {counted_by}, which it never shows")
            shapes.setdefault(key, set()).add((counted_by, shown))
    found += [f"{key} differs between catalogues" for key, seen in shapes.items() if len(seen) > 1]
    return found


def test_the_catalogues_translate_every_key_the_code_uses_and_no_other(project_root: Path):
    catalogues = {locale: catalogue(locale=locale) for locale in Locale}
    assert problems(catalogues, used_keys(project_root)) == []
    assert catalogues[Locale.UK].num_plurals == 3
    assert catalogues[Locale.EN].num_plurals == 2


def test_keys_chosen_at_run_time_are_extracted_too(project_root: Path):
    used = used_keys(project_root)
    assert {
        "status.needs_info",  # N_ in a table
        "field.required",  # a FieldErrorCode value
        "error.no_active_policy",  # NotAllowed's second argument
        "error.wrong_password",  # InvalidCredentials
        "http.batch",  # Refusal's second argument
        "page.reset.title",
        "email.reset.body",
        "wait.minutes",
    } <= used.keys()


HEADER = 'msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\\n"\n\n'


def test_the_check_finds_each_kind_of_problem():
    """A positive control: doctored catalogues fail the check for every reason it has."""
    uk = (
        HEADER
        + """
msgid "a.fine"
msgstr "Добре {name}."

#, fuzzy
msgid "a.fuzzy"
msgstr "Чернетка"

msgid "a.empty"
msgstr ""

msgid "a.counted"
msgid_plural "{count}"
msgstr[0] "{count} спроба"
msgstr[1] "{count} спроби"

msgid "a.forms_differ"
msgid_plural "{count}"
msgstr[0] "{count} спроба"
msgstr[1] "спроби"
msgstr[2] "{count} спроб"

msgid "a.counts_nothing"
msgid_plural "{count}"
msgstr[0] "спроба"
msgstr[1] "спроби"
msgstr[2] "спроб"

msgid "a.stale"
msgstr "Ніде"
"""
    )
    en = (
        HEADER.replace("nplurals=3", "nplurals=2").replace(
            "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)",
            "(n != 1)",
        )
        + """
msgid "a.fine"
msgstr "Fine {other}."
"""
    )
    used = dict.fromkeys(
        [
            "a.fine",
            "a.fuzzy",
            "a.empty",
            "a.counted",
            "a.forms_differ",
            "a.counts_nothing",
            "a.absent",
        ],
        "here",
    )
    found = problems(
        {Locale.UK: catalogue(uk, Locale.UK), Locale.EN: catalogue(en, Locale.EN)}, used
    )
    assert set(found) == {
        "uk: a.absent (here) is missing",
        "uk: a.stale is used nowhere",
        "uk: a.fuzzy is fuzzy or untranslated",
        "uk: a.empty is fuzzy or untranslated",
        "uk: a.counted is fuzzy or untranslated",  # a form is missing
        "uk: the forms of a.forms_differ have different placeholders",
        "uk: a.counts_nothing counts by {count}, which it never shows",
        *(f"en: {key} (here) is missing" for key in used if key != "a.fine"),
        "a.fine differs between catalogues",
    }


def test_every_request_status_has_a_label():
    assert STATUS_LABELS.keys() == set(RequestStatus)
    assert (
        translate(STATUS_LABELS[RequestStatus.NEEDS_INFO], Locale.EN)
        == "needs information from you"
    )


def test_an_unknown_key_is_an_error_not_the_key_itself():
    with pytest.raises(LookupError, match=r"error\.nonexistent"):
        translate("error.nonexistent", Locale.UK)
    assert "error.code_invalid" in message_keys(Locale.EN)


def test_ukrainian_is_the_default():
    assert DEFAULT_LOCALE is Locale.UK
    assert negotiate_locale(None) is Locale.UK
    assert negotiate_locale("de-DE,fr;q=0.8") is Locale.UK


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en", Locale.EN),
        ("en-US,en;q=0.9", Locale.EN),
        ("uk-UA,uk;q=0.9,en;q=0.8", Locale.UK),
        ("de;q=1.0,en;q=0.5,uk;q=0.7", Locale.UK),
        ("uk;q=0,en;q=0.1", Locale.EN),
        ("en;q=nonsense,uk", Locale.UK),
    ],
)
def test_accept_language_is_honoured_by_quality(header: str, expected: Locale):
    assert negotiate_locale(header) is expected


def test_translate_fills_in_parameters():
    assert translate("error.rate_limited", Locale.EN, wait=Wait(30)).endswith("in 30 seconds.")
    assert translate("error.rate_limited", Locale.UK, wait=Wait(766)).endswith("через 13 хвилин.")
    status = Term("status.needs_info")
    assert "«потрібна інформація від вас»" in translate(
        "error.transition_not_allowed", Locale.UK, status=status
    )


@pytest.mark.parametrize(
    ("left", "uk", "en"),
    [
        (1, "Залишилася 1 спроба.", "1 attempt left."),
        (2, "Залишилося 2 спроби.", "2 attempts left."),
        (3, "Залишилося 3 спроби.", "3 attempts left."),
        (5, "Залишилося 5 спроб.", "5 attempts left."),
        (11, "Залишилося 11 спроб.", "11 attempts left."),
        (14, "Залишилося 14 спроб.", "14 attempts left."),
        (21, "Залишилася 21 спроба.", "21 attempts left."),
        (22, "Залишилося 22 спроби.", "22 attempts left."),
    ],
)
def test_attempts_left_take_the_plural_form_the_language_wants(left: int, uk: str, en: str):
    assert translate("error.code_invalid", Locale.UK, attempts_left=left).endswith(uk)
    assert translate("error.code_invalid", Locale.EN, attempts_left=left).endswith(en)


@pytest.mark.parametrize(
    ("number", "uk", "en"),
    [
        (1, "1 хвилину", "1 minute"),
        (2, "2 хвилини", "2 minutes"),
        (4, "4 хвилини", "4 minutes"),
        (5, "5 хвилин", "5 minutes"),
        (11, "11 хвилин", "11 minutes"),
        (12, "12 хвилин", "12 minutes"),
        (14, "14 хвилин", "14 minutes"),
        (21, "21 хвилину", "21 minutes"),
        (22, "22 хвилини", "22 minutes"),
        (25, "25 хвилин", "25 minutes"),
        (111, "111 хвилин", "111 minutes"),
    ],
)
def test_counts_take_the_plural_form_the_language_wants(number: int, uk: str, en: str):
    assert translate("wait.minutes", Locale.UK, count=number) == uk
    assert translate("wait.minutes", Locale.EN, count=number) == en


@pytest.mark.parametrize(
    ("seconds", "uk"),
    [
        (1, "1 секунду"),
        (45, "45 секунд"),
        (60, "1 хвилину"),
        (61, "2 хвилини"),
        (766, "13 хвилин"),
        (3600, "1 годину"),
        (3900, "1 годину 5 хвилин"),
        (86400, "24 години"),
    ],
)
def test_waits_read_in_minutes_and_hours(seconds: int, uk: str):
    assert Wait(seconds).worded(Locale.UK) == uk


def test_emails_say_how_long_a_link_or_code_lasts_in_the_right_form():
    assert "дійсне 24 години." in confirmation_email(Locale.UK, link="L", hours=24).body
    assert "дійсне 1 годину." in confirmation_email(Locale.UK, link="L", hours=1).body
    assert "valid for 1 hour." in confirmation_email(Locale.EN, link="L", hours=1).body
    assert "дійсний 10 хвилин." in contact_code_email(Locale.UK, code="1", minutes=10).body
    assert "дійсний 21 хвилину." in contact_code_email(Locale.UK, code="1", minutes=21).body
    assert "valid for 10 minutes." in contact_code_email(Locale.EN, code="1", minutes=10).body


def test_dates_are_written_the_way_the_language_writes_them():
    policy = {"valid_from": date(2026, 3, 1), "valid_to": date(2027, 2, 28)}
    key = "field.service_date_outside_policy"
    assert "(1 березня 2026\u202fр. – 28 лютого 2027\u202fр.)" in translate(
        key, Locale.UK, **policy
    )
    assert "(March 1, 2026 – February 28, 2027)" in translate(key, Locale.EN, **policy)


def test_days_and_moments_are_written_by_babel_for_the_language():
    day = date(2026, 9, 30)
    moment = datetime(2026, 9, 30, 14, 5, tzinfo=UTC)  # 17:05 in Kyiv (summer time)

    assert written_day(day, Locale.UK) == "30 вересня 2026\u202fр."
    assert written_day(day, Locale.EN) == "September 30, 2026"
    assert parameter_text(day, Locale.UK) == written_day(day, Locale.UK)
    assert parameter_text(moment, Locale.UK) == "30 вер. 2026\u202fр., 17:05:00"
    assert parameter_text(moment, Locale.EN) == "Sep 30, 2026, 5:05:00\u202fPM"


@pytest.mark.parametrize(
    ("amount", "uk", "en"),
    [
        (Decimal(100000), "100\xa0000,00", "100,000.00"),
        (Decimal("1234567.5"), "1\xa0234\xa0567,50", "1,234,567.50"),
        (Decimal("999.99"), "999,99", "999.99"),
    ],
)
def test_amounts_are_written_with_the_languages_separators(amount: Decimal, uk: str, en: str):
    assert (parameter_text(amount, Locale.UK), parameter_text(amount, Locale.EN)) == (uk, en)


def test_the_maximum_an_amount_exceeds_reads_as_the_language_writes_money():
    checked = Checked()
    above = FieldErrorCode.AMOUNT_ABOVE_MAXIMUM

    checked.amount("150000", "amount", maximum=Decimal(100000), above=above)

    (problem,) = checked.problems
    assert translate(problem.key, Locale.UK, **problem.params) == (
        "Сума не може перевищувати 100\xa0000,00."
    )
    assert translate(problem.key, Locale.EN, **problem.params) == (
        "The amount cannot be more than 100,000.00."
    )


@pytest.mark.parametrize("message", list(catalogue())[1:], ids=key_of)
def test_ukrainian_messages_avoid_known_calques_and_enum_names(message: Message):
    for text in forms(message):
        # "Невірний" means "unfaithful"; a wrong code or password is "неправильний".
        assert "евірн" not in text
        assert not re.search(r"\b[A-Z]{2,}_[A-Z_]+\b", text), "a raw enum name in a message"
