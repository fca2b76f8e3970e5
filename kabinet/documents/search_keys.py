"""The keys staff search cards by: every prefix of the number and of each name word.

A search is then an exact match on a multikey index (`{search_keys: 1}`), which both
engines serve from the index and which needs neither a regular expression nor a range
over an array (the embedded engine runs those in Python, or, for a range over an array,
not correctly). Name words are kept in
their own script and in Latin letters by the Ukrainian national transliteration
(Cabinet of Ministers resolution No. 55 of 27 January 2010), so "kovalenko" and
"Коваленко" find the same card; the phones are keys in E.164 as they are.
"""

import re
import unicodedata
from collections.abc import Iterable

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


def _prefixes(word: str) -> Iterable[str]:
    return (word[:end] for end in range(1, len(word) + 1))


def search_keys(number: str, full_name: str, phones: Iterable[str]) -> list[str]:
    """Every key a card is found by, each once."""
    keys = dict.fromkeys(_prefixes(number.casefold()))
    for word in words(full_name):
        keys.update(dict.fromkeys(_prefixes(word)))
        keys.update(dict.fromkeys(_prefixes(transliterate(word))))
    keys.update(dict.fromkeys(phones))
    return list(keys)
