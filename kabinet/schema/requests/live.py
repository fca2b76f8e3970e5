"""Requests followed live: the status events and the subscriptions that deliver them."""

import functools
from collections.abc import AsyncGenerator, Callable, Hashable
from datetime import datetime
from typing import Annotated, Any, Self

import strawberry
from beanie import PydanticObjectId
from graphql import GraphQLError

from kabinet import events
from kabinet.auth.context import Caller
from kabinet.clock import aware
from kabinet.documents import UserDocument
from kabinet.events.sockets import TooMany
from kabinet.i18n import Locale, translate
from kabinet.resolvers import requests
from kabinet.schema.context import Context, Info
from kabinet.schema.enums import RequestStatus
from kabinet.schema.errors import (
    GraphQLErrorCode,
)
from kabinet.schema.ids import decode_id
from kabinet.schema.labels import label_of
from kabinet.schema.permissions import SignedIn, Staff, viewer
from kabinet.schema.requests.types import Request
from kabinet.schema.sharing import OUTLET, awaited_data, group, selection_of


@strawberry.type(description="A status change of a request, delivered live.")
class RequestEvent:
    status: RequestStatus = strawberry.field(
        description="The status this change entered (the same whether the event arrives live "
        "or is replayed with `since`)."
    )
    status_label: str = label_of(
        "status", "`status` in the caller's language, as the SMS and emails word it."
    )
    previous_status: RequestStatus | None = strawberry.field(
        description="The status before; null when the request was just filed."
    )
    at: datetime = strawberry.field(description="When the status changed.")
    by_operator: bool = strawberry.field(
        description="Whether the contact centre made the change (else the person: filing, "
        "cancelling, or answering a question; or nobody: `becameOverdue`)."
    )
    comment: str | None = strawberry.field(
        description="Why, as written by whoever changed the status."
    )
    assignee_changed: bool = strawberry.field(
        description="Whether this change is of who handles the request (`request.assignee`), "
        "at the same status, rather than of its status."
    )
    became_overdue: bool = strawberry.field(
        description="Whether this event is the request turning overdue (its `dueAt` passed), "
        "at the same status: announced once, to staff (`requestQueueUpdated`) only."
    )
    request: Request = strawberry.field(
        description="The request as it stood right after this change: its status, the history "
        "up to it, its assignee and the comments written by then."
    )
    source: strawberry.Private[events.StatusEvent]

    @classmethod
    def of(cls, event: events.StatusEvent, info: Info) -> Self:
        """``event`` for this subscriber: built once per audience (`audience`), since every
        subscriber of this process receives the same event object."""
        key = (cls, _audience(event, info.context))
        built: Self | None = event.shared.get(key)
        if built is None:
            built = event.shared[key] = cls(
                status=event.status,
                previous_status=event.previous_status,
                at=event.at,
                by_operator=event.change.by_operator,
                comment=event.change.comment,
                assignee_changed=event.change.assignment is not None,
                became_overdue=event.change.overdue,
                request=Request.from_document(event.request),
                source=event,
            )
        return built

    def audience(self, context: Context) -> Hashable:
        return _audience(self.source, context)

    def viewer(self, context: Context) -> Hashable:
        return _viewer(context)

    @property
    def answers(self) -> dict[Hashable, Any]:
        return self.source.shared

    def answered(self, key: Hashable) -> None:
        self.source.answered(key)


def _audience(event: events.StatusEvent, context: Context) -> Hashable:
    """Who sees the event's request, for sharing answers (kabinet.schema.sharing): its owner
    (whose own cards decide `policy.active`), or staff of one role; in one language. Which
    events reach a subscriber is its own filter's business, never this grouping's."""
    owner, staff = _audiences(context.caller)
    user = context.caller.user
    return owner if user is not None and user.id == event.user_id else staff


def _viewer(context: Context) -> Hashable:
    user = context.caller.user
    return user.id if user is not None else None


def _audiences(caller: Caller) -> tuple[Hashable, Hashable]:
    """The caller's audience for its own requests, and for others'."""
    user = caller.user
    if user is None:  # pragma: no cover - subscriptions run on signed-in sockets only
        return None, None
    return ("owner", user.id, caller.locale), ("staff", user.role, caller.locale)


class _Groups:
    """A subscription's keys among an event's answers (`group`): its selection for its own
    request or for another's. Worked out again only when the caller changes (a new
    operation on the socket reloads the account), not for every event."""

    def __init__(self, selection: Hashable, caller: Caller) -> None:
        self._selection = selection
        self._caller = caller
        self._user: UserDocument | None = None
        self._locale: Locale | None = None
        self._user_id: PydanticObjectId | None = None
        self._keys: tuple[Hashable, Hashable] = (None, None)

    def of(self, event: events.StatusEvent) -> Hashable:
        caller = self._caller
        if caller.user is not self._user or caller.locale is not self._locale:
            self._user, self._locale = caller.user, caller.locale
            self._user_id = caller.user.id if caller.user is not None else None
            own, others = _audiences(caller)
            self._keys = (group(self._selection, own), group(self._selection, others))
        return self._keys[0] if event.user_id == self._user_id else self._keys[1]


async def _live(
    info: Info,
    since: datetime | None,
    *,
    account: PydanticObjectId | None = None,
    wanted: Callable[[events.StatusEvent], bool] | None = None,
) -> AsyncGenerator[RequestEvent]:
    """Events for one subscriber: first those missed since ``since``, then live ones; of
    the requests its caller may read (`requests.readable` for the replay, its test of one
    request `requests.may_read` for each live event), of one ``account`` when given, and
    only those ``wanted`` when given.

    Counted against its account's and address's subscription limits while it runs. A
    quiet subscriber only waits on its queue: when its session ends, the socket closes
    (4403, see kabinet.events.sockets) and takes the subscription with it. When the event
    source lost changes (`events.HistoryLost`), it ends with `EVENTS_INTERRUPTED`: the
    client subscribes again with `since`.
    """
    context = info.context
    if context.socket is None:  # pragma: no cover - Strawberry runs them on WebSockets only
        raise RuntimeError("a subscription without a signed-in WebSocket")
    try:
        counted = context.services.sockets.subscription(context.socket)
    except TooMany as refused:
        raise GraphQLError(
            refused.message(context.caller.locale),
            extensions={"code": GraphQLErrorCode.TOO_MANY_SUBSCRIPTIONS, "limit": refused.limit},
        ) from refused

    def shown(event: events.StatusEvent) -> bool:
        # Run for every subscriber of each event: the account, cheapest, first.
        return (
            (account is None or event.user_id == account)
            and requests.may_read(context.caller.user, event.request)
            and (wanted is None or wanted(event))
        )

    with counted:
        fell_behind = functools.partial(context.services.sockets.fell_behind, context.socket)
        async with context.services.events.subscribe(shown, fell_behind) as stream:
            # Listening starts before the replay is read, so nothing falls between the two.
            missed = (
                await events.missed_since(
                    aware(since), readable=requests.readable_of(context.caller.user, account)
                )
                if since is not None
                else []
            )
            missed = [event for event in missed if shown(event)]
            stream.skip({event.change_id for event in missed})
            outlet = OUTLET.get()
            selection = selection_of(info.operation, info.variable_values, _viewer(context))
            groups = _Groups(selection, context.caller)
            try:
                for event in missed:
                    yield RequestEvent.of(event, info)
                if outlet is not None:
                    # Caught up: an event may now reach the socket without this task (its
                    # group's answer written by the task that computed it), when this task
                    # has nothing of its own to send before it.
                    stream.go_live(outlet.shortcut(groups.of))
                async for event in stream:
                    answer = event.shared.get(groups.of(event))
                    data = await awaited_data(answer)
                    if outlet is not None and data is not None:
                        # Its group's answer is ready: sent as it is, past GraphQL's per-event
                        # work. The first of a group (or a result with errors) goes through
                        # it; being one task, the order stays.
                        await outlet.send(data)
                    else:
                        yield RequestEvent.of(event, info)
            except events.HistoryLost as lost:
                raise GraphQLError(
                    translate("events.history_lost", context.caller.locale),
                    extensions={"code": GraphQLErrorCode.EVENTS_INTERRUPTED},
                ) from lost
            except events.SubscriberTooSlow:
                # Its socket is being closed (4413, `Sockets.fell_behind`): the client
                # reconnects with `since`, which replays what it missed.
                return


@strawberry.type
class RequestsSubscription:
    @strawberry.subscription(
        permission_classes=[SignedIn],
        description="Status changes (and changes of who handles them: `assigneeChanged`) of "
        "the signed-in person's requests; of one request when "
        "`requestId` is given.",
    )
    async def request_updated(
        self,
        info: Info,
        request_id: strawberry.ID | None = None,
        since: Annotated[
            datetime | None,
            strawberry.argument(
                description="Replay the changes after this time first (the `at` of the last "
                "event seen), so a reconnect misses nothing."
            ),
        ] = None,
    ) -> AsyncGenerator[RequestEvent]:
        user = viewer(info)
        only = decode_id(request_id, "Request") if request_id is not None else None
        if request_id is not None and only is None:
            return

        def wanted(event: events.StatusEvent) -> bool:
            overdue = event.change.overdue  # the staff's business
            return (only is None or event.request_id == only) and not overdue

        async for update in _live(info, since, account=user.id, wanted=wanted):
            yield update

    @strawberry.subscription(
        permission_classes=[Staff],
        description="Staff: every request filed or changed, and each turning overdue "
        "(`becameOverdue`).",
    )
    async def request_queue_updated(
        self,
        info: Info,
        since: Annotated[
            datetime | None,
            strawberry.argument(description="Replay the changes after this time first."),
        ] = None,
    ) -> AsyncGenerator[RequestEvent]:
        async for update in _live(info, since):
            yield update
