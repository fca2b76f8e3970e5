"""Which requests a caller may read, and the lists of them."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from beanie import PydanticObjectId

from kabinet.documents import (
    RequestDocument,
    RequestKind,
    RequestStatus,
    UserDocument,
)
from kabinet.resolvers import pages
from kabinet.resolvers.scopes import Filter, find_by_ids, within


def readable(user: UserDocument | None) -> Filter | None:
    """The requests ``user`` may read: staff every one, a customer their own (someone
    else's is not found), nobody signed out any."""
    if user is None:
        return None
    return {} if user.is_staff else {"user_id": user.id}


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


async def list_requests(
    *,
    viewer: UserDocument | None,
    filters: RequestFilter,
    first: int,
    after: pages.After | None,
) -> pages.Page[RequestDocument]:
    """The requests ``viewer`` may read that match ``filters``, newest first, by
    (created_at, id) so the order is stable under equal times."""
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
    if filters.assignees:
        one = len(set(filters.assignees)) == 1
        query = within({"assignee_id": filters.assignees[0]} if one else None, query)
    return await pages.newest_first(
        RequestDocument,
        within(readable(viewer), query),
        time_field="created_at",
        first=first,
        after=after,
    )
