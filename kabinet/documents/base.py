"""The base of every document: Beanie's, with attributes read as any object's."""

from typing import Any, NoReturn

import beanie


class Document(beanie.Document):
    """Beanie's documents are lazy_model's `LazyModel`s, whose `__getattribute__` runs in
    Python on every attribute read to find fields a lazy parse left unparsed. kabinet
    parses each document whole when it reads it, so its documents read attributes as any
    object does (a `me` reads some 370), and a lazy parse, whose unparsed fields would
    now read as placeholders, is refused."""

    __getattribute__ = object.__getattribute__

    @classmethod
    def lazy_parse(cls, data: dict[str, Any], fields: set[str] | None = None) -> NoReturn:
        raise TypeError(f"{cls.__name__} is parsed whole: find it without lazy_parse")
