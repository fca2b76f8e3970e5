"""The keys staff search cards by: every prefix of the number and of each name word, and
pair keys for searches of two or more words.

A search is then an exact match on a multikey index (`{search_keys: 1}`), which both
engines serve from the index and which needs neither a regular expression nor a range
over an array (the embedded engine runs those in Python, or, for a range over an array,
not correctly). Name words are kept in
their own script and in Latin letters by the Ukrainian national transliteration
(Cabinet of Ministers resolution No. 55 of 27 January 2010), so "kovalenko" and
"Коваленко" find the same card; the phones are keys in E.164 as they are.

A search of several words needs every word to be a prefix of a name word, so each word's
index entries name every card sharing, say, the surname: as many as the registry has of
that family, a number that grows with the registry. A pair key narrows it to the cards
that also have a word beginning as another search word does: the first `PAIR_LEAD`
Latin letters of one name word, a space (never in a number, phone or word), then the
first `PAIR_FOLLOW` Latin letters of another word of the name, or its initial ("lyse
mar", "lyse m": a search by surname and initial is common).

`SEARCH_KEYS_VERSION` names this scheme; cards keyed by an earlier one are keyed again
at start-up (kabinet.resolvers.policies.fill_outdated_search_keys).
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Lower case only: keys and searches are case-folded first.
_KMU_2010 = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "h",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "є": "ie",
    "ж": "zh",
    "з": "z",
    "и": "y",
    "і": "i",
    "ї": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ь": "",
    "ю": "iu",
    "я": "ia",
    # Not Ukrainian letters, but names may carry them (profile names accept any
    # Cyrillic letter): their usual Latin forms.
    "ё": "io",
    "ъ": "",
    "ы": "y",
    "э": "e",
}
# The standard writes these differently at the start of a word.
_KMU_2010_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya", "ё": "yo"}
_APOSTROPHES = str.maketrans("", "", "'ʼ’‘`´")
_WORD = re.compile(r"\w+")
PAIR_LEAD = 4
PAIR_FOLLOW = 3  # with the initial alone: two keys per ordered pair of words
SEARCH_KEYS_VERSION = 2  # 1: prefixes only; 2: and pair keys


def transliterate(word: str) -> str:
    """A case-folded word in Latin letters (KMU 2010), diacritics of Latin letters dropped."""
    latin = []
    for index, letter in enumerate(word):
        if index == 0 and letter in _KMU_2010_INITIAL:
            latin.append(_KMU_2010_INITIAL[letter])
        elif letter == "г" and index > 0 and word[index - 1] == "з":
            latin.append("gh")  # "зг" is "zgh", so it is not read as "zh"
        else:
            latin.append(_KMU_2010.get(letter, letter))
    decomposed = unicodedata.normalize("NFKD", "".join(latin))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def words(text: str) -> list[str]:
    """Case-folded words of a name or a search, apostrophes dropped, hyphens splitting."""
    folded = unicodedata.normalize("NFC", text).casefold().translate(_APOSTROPHES)
    return _WORD.findall(folded)


@dataclass(slots=True)
class KeyedCards:
    """Whether every card's keys follow `SEARCH_KEYS_VERSION`, as far as this process knows:
    set once its start-up re-keying is done. Until then a search leads with no pair key,
    which cards keyed by an earlier scheme lack, so an upgrade misses none of them."""

    current: bool = False


def _prefixes(word: str) -> Iterable[str]:
    return (word[:end] for end in range(1, len(word) + 1))


def _pair_keys(latin_words: list[str]) -> Iterable[str]:
    for lead_index, lead in enumerate(latin_words):
        if len(lead) < PAIR_LEAD:
            continue
        for other_index, other in enumerate(latin_words):
            if other_index != lead_index and other:
                yield f"{lead[:PAIR_LEAD]} {other[0]}"
                yield f"{lead[:PAIR_LEAD]} {other[:PAIR_FOLLOW]}"


def name_prefixes(name: str) -> dict[str, None]:
    """Every prefix of each word of ``name``, in its own script and in Latin letters, each
    once (in order): what a search word typed in either script is looked up as."""
    keys: dict[str, None] = {}
    for word in words(name):
        keys.update(dict.fromkeys(_prefixes(word)))
        keys.update(dict.fromkeys(_prefixes(transliterate(word))))
    return keys


def search_keys(number: str, full_name: str, phones: Iterable[str]) -> list[str]:
    """Every key a card is found by, each once."""
    keys = dict.fromkeys(_prefixes(number.casefold()))
    keys.update(name_prefixes(full_name))
    keys.update(dict.fromkeys(_pair_keys([transliterate(word) for word in words(full_name)])))
    keys.update(dict.fromkeys(phones))
    return list(keys)


def keyed(number: str, full_name: str, phones: Iterable[str]) -> dict[str, object]:
    """A card's search fields: its keys and the scheme they were derived by."""
    return {
        "search_keys": search_keys(number, full_name, phones),
        "search_keys_version": SEARCH_KEYS_VERSION,
    }


def pair_key(search_words: list[str]) -> str | None:
    """The pair key every card whose name has a word beginning with each of
    ``search_words`` holds, for the longest word and another; None when no two words make
    one (a lead word shorter than `PAIR_LEAD` letters could be a whole short name word).

    The two words must be prefixes of two different name words: neither (in Latin
    letters) begins the other, so no one name word can begin with both.
    """
    latin = sorted({transliterate(word) for word in search_words}, key=lambda w: (-len(w), w))
    for lead in latin:
        if len(lead) < PAIR_LEAD:
            return None
        for other in latin:
            if other and not lead.startswith(other) and not other.startswith(lead):
                follow = other[:PAIR_FOLLOW] if len(other) >= PAIR_FOLLOW else other[0]
                return f"{lead[:PAIR_LEAD]} {follow}"
    return None
