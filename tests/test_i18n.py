"""Every user-facing message exists in Ukrainian and English."""

import string

import pytest

from kabinet.i18n import DEFAULT_LOCALE, MESSAGES, Locale, negotiate_locale, translate


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
    assert translate("error.rate_limited", Locale.EN, seconds=30).endswith("in 30 s.")
