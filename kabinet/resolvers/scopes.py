"""Read scopes: what a caller may read of an area, as the filter every read of it starts
from (lists, node lookups, downloads, updates, cancellations), as Polar's
`get_readable_statement(auth_subject)` does. Each area has one function that gives it
(`requests.reading.readable`, `policies.readable`, `contacts.readable`, `files.readable`,
`audit.readable`); no caller chooses a scope of its own."""

from collections.abc import Sequence

from beanie import Document, PydanticObjectId

type Filter = dict[str, object]
# What a scope of ``None`` reads: nothing (a filter on `_id` that no document matches).
NOTHING: Filter = {"_id": {"$in": []}}


def within(scope: Filter | None, query: Filter) -> Filter:
    """``query`` narrowed to ``scope`` (``None``: nothing is readable). A query that asks
    for another value of a field the scope fixes matches nothing; when both have another
    operator (`$or`: the cards' guardian cut-off), both must hold. A condition both state
    alike is stated once (a customer's linked cards: the scope is the query)."""
    if scope is None:
        return dict(NOTHING)
    differing = [key for key in scope if key in query and query[key] != scope[key]]
    if any(not key.startswith("$") for key in differing):
        return dict(NOTHING)
    if differing:
        return {"$and": [query, scope]}
    return {**query, **scope}


async def find_by_ids[D: Document](
    document: type[D], scope: Filter | None, ids: Sequence[PydanticObjectId]
) -> list[D | None]:
    """The documents among ``ids`` within ``scope``, in the order of ``ids``: one query."""
    query = within(scope, {"_id": {"$in": list(ids)}})
    found = {found.id: found for found in await document.find(query).to_list()}
    return [found.get(one) for one in ids]
