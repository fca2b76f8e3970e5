"""The provider directory (issue 17 item 4): the clinics, laboratories and pharmacies of
the network, loaded from the insurer's registry by their `code`.

Every filter of `providers` is one exact key in `directory_keys`, a multikey index both
engines serve (as the cards' search keys, kabinet.documents.search_keys): a filter of
several conditions is an `$all` of their keys, no regular expression, no range over an
array. The keys are tagged by what they name, so a city never matches a specialty.
"""

import math
from datetime import datetime
from enum import IntEnum, StrEnum

from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.base import Document
from kabinet.documents.search_keys import name_prefixes, transliterate, words
from kabinet.documents.settings import WholeDocuments

EARTH_RADIUS_KM = 6371.0088
# The key every provider holds: what a list without a filter looks up.
EVERY_PROVIDER = "*"
# The grid a provider's location is filed under (`cell_key`), in degrees: a search near a
# point looks up the cells its radius touches.
CELL_DEGREES = 0.25


class ProviderKind(StrEnum):
    CLINIC = "clinic"
    LABORATORY = "laboratory"
    PHARMACY = "pharmacy"


class Weekday(IntEnum):
    """ISO weekday numbers."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7


class OpeningHours(BaseModel):
    """Open on ``day`` from ``opens`` to ``closes`` ("HH:MM", "24:00" for midnight)."""

    day: Weekday
    opens: str
    closes: str


class GeoPoint(BaseModel):
    lat: float
    lon: float

    def distance_km(self, other: "GeoPoint") -> float:
        """The great-circle distance (haversine)."""
        lat1, lat2 = math.radians(self.lat), math.radians(other.lat)
        half_dlat = (lat2 - lat1) / 2
        half_dlon = math.radians(other.lon - self.lon) / 2
        a = math.sin(half_dlat) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(half_dlon) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def folded(text: str) -> str:
    """``text`` as a key holds it: case-folded words, one space between them."""
    return " ".join(words(text))


def city_keys(city: str) -> list[str]:
    """A city's keys, in its own script and in Latin letters ("Київ", "Kyiv")."""
    own = folded(city)
    latin = " ".join(transliterate(word) for word in words(city))
    return list(dict.fromkeys((f"city:{own}", f"city:{latin}")))


def kind_key(kind: ProviderKind) -> str:
    return f"kind:{kind.value}"


def specialty_key(specialty: str) -> str:
    return f"specialty:{folded(specialty)}"


def programme_key(programme: str) -> str:
    return f"programme:{folded(programme)}"


def cell_key(row: int, column: int) -> str:
    """The key of the grid cell ``row`` (latitude) and ``column`` (longitude)."""
    return f"cell:{row}:{column}"


def grid_index(degrees: float) -> int:
    """The grid row of a latitude, or column of a longitude."""
    return math.floor(degrees / CELL_DEGREES)


def name_key(prefix: str) -> str:
    """A name word's prefix, as a `text` search word looks it up."""
    return f"name:{prefix}"


def directory_keys(
    *,
    kind: ProviderKind,
    name: str,
    city: str,
    specialties: list[str],
    programmes: list[str],
    location: GeoPoint | None,
) -> list[str]:
    """Every key a provider is found by, each once."""
    cells = [cell_key(grid_index(location.lat), grid_index(location.lon))] if location else []
    keys = [
        *cells,
        EVERY_PROVIDER,
        kind_key(kind),
        *city_keys(city),
        *(specialty_key(specialty) for specialty in specialties),
        *(programme_key(programme) for programme in programmes),
        *(name_key(prefix) for prefix in name_prefixes(name)),
    ]
    return list(dict.fromkeys(keys))


class ProviderDocument(Document):
    """A clinic, laboratory or pharmacy of the network; `code` is the registry's."""

    code: str
    kind: ProviderKind
    name: str
    city: str
    address: str
    phones: list[str] = Field(default_factory=list)  # E.164
    specialties: list[str] = Field(default_factory=list)
    opening_hours: list[OpeningHours] = Field(default_factory=list)
    # The programme names (a card's `program`) whose cards it accepts.
    programmes: list[str] = Field(default_factory=list)
    location: GeoPoint | None = None
    # Derived: `directory_keys`, and the name as the list is ordered by.
    directory_keys: list[str] = Field(default_factory=list)
    sort_name: str = ""
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)

    def derived_fields(self) -> dict[str, object]:
        return {
            "directory_keys": directory_keys(
                kind=self.kind,
                name=self.name,
                city=self.city,
                specialties=self.specialties,
                programmes=self.programmes,
                location=self.location,
            ),
            "sort_name": folded(self.name),
        }

    class Settings(WholeDocuments):
        name = "providers"
        indexes = (
            IndexModel([("code", ASCENDING)], unique=True, name="code_unique"),
            # Single-field, as the cards' search keys (the embedded engine narrows by no
            # compound index over an array).
            IndexModel([("directory_keys", ASCENDING)], name="directory_key"),
            # The order of a list without a point, and its cursor.
            IndexModel([("sort_name", ASCENDING), ("_id", ASCENDING)], name="by_name"),
        )
