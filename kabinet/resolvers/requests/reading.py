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


def _readable_by(user: UserDocument) -> dict[str, object]:
    """Staff see every request; a customer only their own (someone else's is not found)."""
    return {} if user.is_staff else {"user_id": user.id}


async def find_request(user: UserDocument, request_id: PydanticObjectId) -> RequestDocument | None:
    return await RequestDocument.find_one({"_id": request_id, **_readable_by(user)})


async def find_requests(
    user: UserDocument, request_ids: Sequence[PydanticObjectId]
) -> list[RequestDocument | None]:
    """The requests ``user`` may read among ``request_ids``, in their order: one query."""
    query = {"_id": {"$in": list(request_ids)}, **_readable_by(user)}
    found = {request.id: request for request in await RequestDocument.find(query).to_list()}
    return [found.get(request_id) for request_id in request_ids]


@dataclass(frozen=True, slots=True)
class RequestFilter:
    kinds: list[RequestKind] | None = None
    statuses: list[RequestStatus] | None = None
    policy_id: PydanticObjectId | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


async def list_requests(
    *,
    owner_id: PydanticObjectId | None,
    filters: RequestFilter,
    first: int,
    after: pages.After | None,
) -> pages.Page[RequestDocument]:
    """Newest first, by (created_at, id) so the order is stable under equal times."""
    query: dict[str, object] = {}
    if owner_id is not None:
        query["user_id"] = owner_id
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
    return await pages.newest_first(
        RequestDocument, query, time_field="created_at", first=first, after=after
    )
