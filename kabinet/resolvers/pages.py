"""Pages of a collection in time order (newest first, or soonest first for due times), by
(time, id) so equal times neither repeat nor skip."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beanie import Document, PydanticObjectId

type After = tuple[datetime, PydanticObjectId]


@dataclass(frozen=True, slots=True)
class Page[T]:
    items: list[T]
    has_next: bool
    # How many match in all; a separate command, so run only when a client asks.
    count: Callable[[], Awaitable[int]]


async def in_time_order[D: Document](
    document: type[D],
    query: dict[str, Any],
    *,
    time_field: str,
    first: int,
    after: After | None,
    newest_first: bool = True,
) -> Page[D]:
    """Up to ``first`` documents of ``query`` after the cursor ``after``: one find. Oldest
    first (``newest_first`` false) needs a ``query`` whose documents all hold a time."""
    page_query, order = _page(query, time_field, after, newest_first)
    found = await document.find(page_query).sort(order).limit(first + 1).to_list()
    return Page(items=found[:first], has_next=len(found) > first, count=counter(document, query))


async def fields_in_time_order[T](
    document: type[Document],
    query: dict[str, Any],
    *,
    fields: Sequence[str],
    build: Callable[[dict[str, Any]], T],
    time_field: str,
    first: int,
    after: After | None,
    newest_first: bool = True,
) -> Page[T]:
    """The page of `in_time_order` with only ``fields`` of each document, each made into
    ``build(fields)`` with no model validation: a list shows a few fields of documents that
    may hold long histories, which PyMongo would decode and Beanie validate whole."""
    page_query, order = _page(query, time_field, after, newest_first)
    cursor = (
        document.get_pymongo_collection()
        .find(page_query, dict.fromkeys(fields, True))
        .sort(order)
        .limit(first + 1)
    )
    # One `to_list`, not an `async for`: PyMongo's per-document `__anext__` is a coroutine
    # round each, several times the cost of building the summary.
    found = [build(raw) for raw in await cursor.to_list()]
    return Page(items=found[:first], has_next=len(found) > first, count=counter(document, query))


def _page(
    query: dict[str, Any], time_field: str, after: After | None, newest_first: bool
) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """The filter and the sort of the page of ``query`` after ``after``."""
    beyond, direction = ("$lt", -1) if newest_first else ("$gt", 1)
    order = [(time_field, direction), ("_id", direction)]
    if after is None:
        return query, order
    at, last_id = after
    return {
        "$and": [
            query,
            {"$or": [{time_field: {beyond: at}}, {time_field: at, "_id": {beyond: last_id}}]},
        ]
    }, order


def counter(
    document: type[Document], query: dict[str, Any], *, limit: int | None = None
) -> Callable[[], Awaitable[int]]:
    """How many documents match ``query``, by the `count` command: an index count (the
    collection's own count for ``{}``) on MongoDB and on the embedded engine, where
    `count_documents`, an aggregation, makes the engine decode every document. With
    ``limit``, the count stops there, and so does its cost."""

    async def count() -> int:
        collection = document.get_pymongo_collection()
        command: dict[str, Any] = {"count": collection.name, "query": query}
        if limit is not None:
            command["limit"] = limit
        answer = await collection.database.command(command)
        return int(answer["n"])

    return count
