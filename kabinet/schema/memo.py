"""Caches of work done once per parsed document, keyed by the document's identity.

graphql-core 3.3's syntax nodes are dataclasses that hash and compare by value: hashing
a document walks every node of it. `functools.lru_cache` hashes its arguments on every
call, so a cache of per-document work (its shape, its validation, its object count)
walked the whole document on each request only to find the answer it had already.
Strawberry's ParserCache hands out one document object per query text, so the object
itself is the key: `per_document` looks syntax nodes up by identity and keeps them
alive while their entry lives, so an identity is never reused by another node.
"""

import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from graphql import Node


def _identity(argument: object) -> Hashable:
    return ("node", id(argument)) if isinstance(argument, Node) else argument


class CacheInfo(NamedTuple):
    """As `functools.lru_cache`'s `cache_info()`."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


class PerDocument[**P, R]:
    """`function` behind an LRU cache of ``maxsize`` entries whose syntax-node arguments
    count by identity; every other argument, keyword ones too, by value as lru_cache
    counts them."""

    def __init__(self, function: Callable[P, R], maxsize: int) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self.maxsize = maxsize
        self.entries: OrderedDict[Hashable, tuple[tuple[Any, ...], R]] = OrderedDict()
        self.hits = self.misses = 0

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        key = (*map(_identity, args), *kwargs.items())
        entry = self.entries.get(key)
        if entry is not None:
            self.hits += 1
            self.entries.move_to_end(key)
            return entry[1]
        self.misses += 1
        result = self.function(*args, **kwargs)
        self.entries[key] = (args, result)  # the arguments stay alive with their entry
        if len(self.entries) > self.maxsize:
            self.entries.popitem(last=False)
        return result

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self.hits, self.misses, self.maxsize, len(self.entries))


def per_document[**P, R](maxsize: int) -> Callable[[Callable[P, R]], PerDocument[P, R]]:
    """Decorates a function of parsed documents with a `PerDocument` cache."""
    return lambda function: PerDocument(function, maxsize)
