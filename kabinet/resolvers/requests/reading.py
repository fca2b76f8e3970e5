"""Which requests a caller may read, the lists of them, and the queue's counts."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from beanie import PydanticObjectId
from bson import ObjectId

from kabinet.clock import now
from kabinet.documents import (
    RequestDocument,
    RequestKind,
    RequestStatus,
    UserDocument,
)
from kabinet.resolvers import pages
from kabinet.resolvers.requests.due import passed
from kabinet.resolvers.scopes import Filter, find_by_ids, within


def readable(user: UserDocument | None) -> Filter | None:
    """The requests ``user`` may read: staff every one, a customer their own (someone
    else's is not found), nobody signed out any."""
    if user is None:
        return None
    return {} if user.is_staff else {"user_id": user.id}


def may_read(user: UserDocument | None, request: RequestDocument) -> bool:
    """Whether ``user`` may read ``request``: `readable` as a test of one request already
    in hand, for what no query reads (the status events delivered live)."""
    return user is not None and (user.is_staff or request.user_id == user.id)


def readable_of(user: UserDocument | None, account: PydanticObjectId | None) -> Filter:
    """The requests ``user`` may read, of one ``account`` when given."""
    return within(readable(user), {} if account is None else {"user_id": account})


async def find_request(
    user: UserDocument | None, request_id: PydanticObjectId
) -> RequestDocument | None:
    return await RequestDocument.find_one(within(readable(user), {"_id": request_id}))


async def find_requests(
    user: UserDocument | None, request_ids: Sequence[PydanticObjectId]
) -> list[RequestDocument | None]:
    """The requests ``user`` may read among ``request_ids``, in their order: one query."""
    return await find_by_ids(RequestDocument, readable(user), request_ids)


@dataclass(frozen=True, slots=True)
class RequestFilter:
    owner_id: PydanticObjectId | None = None
    kinds: list[RequestKind] | None = None
    statuses: list[RequestStatus] | None = None
    policy_id: PydanticObjectId | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    # Handled by each of these (None: by nobody): all must hold, so two differ -> nothing.
    assignees: tuple[PydanticObjectId | None, ...] = ()
    # Only those whose due time has passed (`RequestDocument.due_at`).
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """What a list shows of a request without its details, history, comments and files.

    Its ids are the `ObjectId`s the driver decoded (`PydanticObjectId` is the same value
    typed for pydantic): a page of twenty would copy sixty of them otherwise."""

    id: ObjectId
    number: str
    kind: RequestKind
    status: RequestStatus
    created_at: datetime
    updated_at: datetime
    anonymised_at: datetime | None
    due_at: datetime | None
    user_id: ObjectId
    policy_id: ObjectId
    assignee_id: ObjectId | None

    # The stored fields it is read from: `id` is `_id`, which a find always returns.
    FIELDS = (
        "number",
        "kind",
        "status",
        "created_at",
        "updated_at",
        "anonymised_at",
        "due_at",
        "user_id",
        "policy_id",
        "assignee_id",
    )

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> Self:
        """From a document as the database returns it (``FIELDS`` of a `RequestDocument`)."""
        return cls(
            id=stored["_id"],
            number=stored["number"],
            kind=_KINDS[stored["kind"]],
            status=_STATUSES[stored["status"]],
            created_at=stored["created_at"],
            updated_at=stored["updated_at"],
            anonymised_at=stored.get("anonymised_at"),
            due_at=stored.get("due_at"),
            user_id=stored["user_id"],
            policy_id=stored["policy_id"],
            assignee_id=stored.get("assignee_id"),
        )


# By stored value: a lookup, where calling the enum goes through its metaclass.
_KINDS = {kind.value: kind for kind in RequestKind}
_STATUSES = {status.value: status for status in RequestStatus}


class RequestOrder(StrEnum):
    NEWEST = "newest"
    # By due time, soonest first: only the requests with one (`due_at`).
    DUE_SOONEST = "due_soonest"


@dataclass(frozen=True, slots=True)
class RequestListing:
    """A page of requests ``viewer`` may read that match ``filters``, newest first by
    (created_at, id) or soonest due by (due_at, id), so the order is stable under equal
    times."""

    viewer: UserDocument | None
    filters: RequestFilter
    first: int
    after: pages.After | None
    order: RequestOrder = RequestOrder.NEWEST


async def list_requests(listing: RequestListing) -> pages.Page[RequestDocument]:
    """The page of ``listing``, whole requests."""
    return await pages.in_time_order(RequestDocument, **_page_arguments(listing))


async def list_request_summaries(listing: RequestListing) -> pages.Page[RequestSummary]:
    """The page of ``listing``, each request's `RequestSummary` only."""
    return await pages.fields_in_time_order(
        RequestDocument,
        fields=RequestSummary.FIELDS,
        build=RequestSummary.from_stored,
        **_page_arguments(listing),
    )


def _page_arguments(listing: RequestListing) -> dict[str, Any]:
    """The query and page arguments of `pages.in_time_order` for ``listing``."""
    viewer, filters, order = listing.viewer, listing.filters, listing.order
    query = readable_of(viewer, filters.owner_id)
    if filters.kinds:
        query["kind"] = {"$in": [kind.value for kind in filters.kinds]}
    if filters.statuses:
        query["status"] = {"$in": [status.value for status in filters.statuses]}
    if filters.policy_id is not None:
        query["policy_id"] = filters.policy_id
    created: dict[str, datetime] = {}
    if filters.created_from is not None:
        created["$gte"] = filters.created_from
    if filters.created_to is not None:
        created["$lte"] = filters.created_to
    if created:
        query["created_at"] = created
    if filters.overdue:
        query["due_at"] = passed(now())
    elif order is RequestOrder.DUE_SOONEST:
        query["due_at"] = {"$type": "date"}
    if filters.assignees:
        one = len(set(filters.assignees)) == 1
        query = within({"assignee_id": filters.assignees[0]} if one else None, query)
    by_due = order is RequestOrder.DUE_SOONEST
    return {
        "query": within(readable(viewer), query),
        "time_field": "due_at" if by_due else "created_at",
        "first": listing.first,
        "after": listing.after,
        "newest_first": not by_due,
    }


# The statuses of the work in hand; a closed request's count grows with the history, and
# is `requestQueue(filter: {statuses: …}) { totalCount }` when wanted.
OPEN = (
    RequestStatus.SUBMITTED,
    RequestStatus.IN_PROGRESS,
    RequestStatus.NEEDS_INFO,
    RequestStatus.SCHEDULED,
    RequestStatus.APPROVED,
)
OPEN_STATUSES = {"$in": [status.value for status in OPEN]}


async def count_open(viewer: UserDocument | None, query: Filter, *, limit: int) -> int:
    """How many open requests ``viewer`` may read match ``query``, up to ``limit``: one
    `count` command, served by an index whose prefix is ``query``'s field then `status`,
    which stops at ``limit`` entries, so a count costs at most that many whatever the
    backlog (`pages.counter`)."""
    scoped = within(readable(viewer), {**query, "status": query.get("status", OPEN_STATUSES)})
    return await pages.counter(RequestDocument, scoped, limit=limit)()


async def count_open_each[V: StrEnum](
    viewer: UserDocument | None, field: str, values: Sequence[V], *, limit: int
) -> list[tuple[V, int]]:
    """How many open requests have each of ``values`` at ``field``, up to ``limit``: one
    count each, at once."""
    counts = await asyncio.gather(
        *(count_open(viewer, {field: value.value}, limit=limit) for value in values)
    )
    return list(zip(values, counts, strict=True))


async def count_overdue(viewer: UserDocument | None, *, limit: int) -> int:
    """How many are past their due time (only open requests have one), up to ``limit``: one
    count, served by the `due_soonest` index."""
    return await pages.counter(
        RequestDocument, within(readable(viewer), {"due_at": passed(now())}), limit=limit
    )()
