"""The security audit log: one function writes every event, administrators read them."""

from collections.abc import Sequence
from dataclasses import dataclass

from beanie import PydanticObjectId

from kabinet.auth.context import Caller
from kabinet.documents import AuditAction, AuditEventDocument, Role, UserDocument
from kabinet.resolvers import pages
from kabinet.resolvers.scopes import Filter, find_by_ids, within

# What a user agent may take up in an event; the rest is noise.
MAX_USER_AGENT = 300


async def record(
    caller: Caller,
    action: AuditAction,
    *,
    subject_id: PydanticObjectId | None = None,
    actor: UserDocument | None = None,
    target_type: str | None = None,
    target_id: PydanticObjectId | None = None,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
) -> None:
    """Write one event; ``actor`` defaults to the signed-in caller (none for sign-in attempts).

    ``before``/``after`` carry changed fields or a failure's reason, never a secret, a
    contact's value or text a person typed.
    """
    actor = actor or caller.user
    await AuditEventDocument(
        action=action,
        actor_id=actor.id if actor else None,
        actor_role=actor.role.value if actor else None,
        subject_id=subject_id,
        target_type=target_type,
        target_id=str(target_id) if target_id else None,
        before=before,
        after=after,
        ip=caller.ip,
        user_agent=(caller.user_agent or "")[:MAX_USER_AGENT] or None,
        request_id=caller.request_id,
    ).insert()


@dataclass(frozen=True, slots=True)
class EventFilter:
    user_id: PydanticObjectId | None = None
    action: AuditAction | None = None


def readable(user: UserDocument | None) -> Filter | None:
    """The events ``user`` may read: an administrator every one, anyone else none."""
    return {} if user is not None and user.role is Role.ADMIN else None


async def find_events(
    user: UserDocument | None, event_ids: Sequence[PydanticObjectId]
) -> list[AuditEventDocument | None]:
    """The events ``user`` may read among ``event_ids``, in their order: one query."""
    return await find_by_ids(AuditEventDocument, readable(user), event_ids)


async def list_events(
    *, viewer: UserDocument | None, filters: EventFilter, first: int, after: pages.After | None
) -> pages.Page[AuditEventDocument]:
    """The events ``viewer`` may read, newest first; ``user_id`` matches the events by and
    about that account."""
    query: dict[str, object] = {}
    if filters.user_id is not None:
        query["$or"] = [{"subject_id": filters.user_id}, {"actor_id": filters.user_id}]
    if filters.action is not None:
        query["action"] = filters.action.value
    return await pages.in_time_order(
        AuditEventDocument,
        within(readable(viewer), query),
        time_field="at",
        first=first,
        after=after,
    )
