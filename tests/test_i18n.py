"""Every user-facing message exists in Ukrainian and English."""

import re
import string

import pytest

from kabinet.i18n import (
    DEFAULT_LOCALE,
    MESSAGES,
    Locale,
    Term,
    Wait,
    count_of,
    negotiate_locale,
    translate,
)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_message_has_every_translation_with_the_same_placeholders(key: str):
    translations = MESSAGES[key]
    assert set(translations) == set(Locale)
    assert all(text.strip() for text in translations.values())
    assert placeholders(translations[Locale.UK]) == placeholders(translations[Locale.EN])


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
    assert count_of(number, "minute", Locale.UK) == uk
    assert count_of(number, "minute", Locale.EN) == en


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


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_ukrainian_messages_avoid_known_calques_and_enum_names(key: str):
    text = MESSAGES[key][Locale.UK]
    # "Невірний" means "unfaithful"; a wrong code or password is "неправильний".
    assert "евірн" not in text
    assert not re.search(r"\b[A-Z]{2,}_[A-Z_]+\b", text), "a raw enum name in a message"
