"""The security audit log in the API: `securityEvents`, for administrators."""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from kabinet.documents import AuditEventDocument
from kabinet.resolvers import audit
from kabinet.schema.context import Info
from kabinet.schema.enums import Role, SecurityAction
from kabinet.schema.ids import filter_id, object_id
from kabinet.schema.pagination import (
    Counted,
    PageInfo,
    decode_time_cursor,
    encode_time_cursor,
    page_size,
)
from kabinet.schema.permissions import Admin
from kabinet.schema.user import User

# The API's type of each audited target, for its global id.
_TARGET_TYPES = {"contact": "Contact", "request": "Request", "policy": "Policy"}


def _global_id(type_name: str, value: object) -> strawberry.ID | None:
    return strawberry.ID(relay.to_base64(type_name, str(value))) if value else None


def _json(value: dict[str, object] | None) -> str | None:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else None


@strawberry.type(
    description="One security event: a sign-in, a change to an account, a data "
    "export or deletion, or a staff action."
)
class SecurityEvent(relay.Node):
    id: relay.NodeID[str]
    at: datetime = strawberry.field(description="When it happened.")
    action: SecurityAction = strawberry.field(description="What happened.")
    actor_id: strawberry.ID | None = strawberry.field(
        description="Global id of the account that acted; null for sign-in attempts that "
        "matched no password and for the command line."
    )
    actor_role: Role | None = strawberry.field(description="The actor's role at the time.")
    subject_id: strawberry.ID | None = strawberry.field(
        description="Global id of the account the event is about; it stays when the account "
        "is deleted (then `subject` is null)."
    )
    target_type: str | None = strawberry.field(
        description="What was acted on besides the account: contact, request, policy, "
        "policy_registry."
    )
    target_id: strawberry.ID | None = strawberry.field(
        description="Global id of the contact, request or card acted on."
    )
    before: str | None = strawberry.field(
        description="JSON of the changed fields before, e.g. a card's phones or a status."
    )
    after: str | None = strawberry.field(
        description="JSON of the changed fields after, or the reason of a failure, e.g. "
        '`{"reason": "wrong_password"}`.'
    )
    ip: str | None = strawberry.field(description="Client address as the server saw it.")
    user_agent: str | None = strawberry.field(description="The client's User-Agent.")
    request_id: str | None = strawberry.field(
        description="The `X-Request-ID` of the HTTP request, to find it in the logs."
    )
    document: strawberry.Private[AuditEventDocument]

    @classmethod
    def from_document(cls, document: AuditEventDocument) -> Self:
        target_type = _TARGET_TYPES.get(document.target_type or "")
        return cls(
            id=str(document.id),
            at=document.at,
            action=document.action,
            actor_id=_global_id("User", document.actor_id),
            actor_role=Role(document.actor_role) if document.actor_role else None,
            subject_id=_global_id("User", document.subject_id),
            target_type=document.target_type,
            target_id=_global_id(target_type, document.target_id) if target_type else None,
            before=_json(document.before),
            after=_json(document.after),
            ip=document.ip,
            user_agent=document.user_agent,
            request_id=document.request_id,
            document=document,
        )

    @strawberry.field(description="The account that acted, if it still exists.")
    async def actor(self, info: Info) -> User | None:
        return await _account(info, self.document.actor_id)

    @strawberry.field(description="The account the event is about, if it still exists.")
    async def subject(self, info: Info) -> User | None:
        return await _account(info, self.document.subject_id)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """The events the caller may read (`audit.readable`): administrators only."""
        ids = list(node_ids)
        wanted = [oid for node_id in ids if (oid := object_id(node_id))]
        loaded = await info.context.loaders.readable_events(info.context.caller.user).load_many(
            wanted
        )
        found = {str(event.id): event for event in loaded if event}
        return [cls.from_document(found[i]) if i in found else None for i in ids]


async def _account(info: Info, user_id: object) -> User | None:
    if user_id is None:
        return None
    user = await info.context.loaders.user.load(user_id)  # type: ignore[arg-type]
    return User.from_document(user) if user else None


@strawberry.type(description="One event in the log.")
class SecurityEventEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this event.")
    node: SecurityEvent = strawberry.field(description="The event.")


@strawberry.type(description="A page of security events, newest first.")
class SecurityEventConnection(Counted):
    edges: list[SecurityEventEdge] = strawberry.field(description="The events of this page.")
    page_info: PageInfo = strawberry.field(description="Where the page sits.")


@strawberry.input(description="Narrow the security log; all given conditions apply.")
class SecurityEventFilter:
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Events by or about this account (a User id)."
    )
    action: SecurityAction | None = strawberry.field(
        default=None, description="Only this kind of event."
    )


def _filters(given: SecurityEventFilter | None) -> audit.EventFilter:
    if given is None:
        return audit.EventFilter()
    return audit.EventFilter(
        user_id=filter_id(given.user_id, "User"),
        action=given.action,
    )


@strawberry.type
class AuditQuery:
    @strawberry.field(
        permission_classes=[Admin],
        description="Admin: the security log (sign-ins, failed sign-ins, password and contact "
        "changes, exports, deletions, staff actions), newest first.",
    )
    async def security_events(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: SecurityEventFilter | None = None,
    ) -> SecurityEventConnection:
        page = await audit.list_events(
            viewer=info.context.caller.user,
            filters=_filters(filter),
            first=page_size(first),
            after=decode_time_cursor(after),
        )
        edges = [
            SecurityEventEdge(
                cursor=encode_time_cursor(event.at, event.id),
                node=SecurityEvent.from_document(event),
            )
            for event in page.items
        ]
        return SecurityEventConnection(
            edges=edges,
            page_info=PageInfo.of(
                [edge.cursor for edge in edges], has_next=page.has_next, after=after
            ),
            count=page.count,
        )
