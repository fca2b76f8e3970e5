"""Request-status events: from the database to every subscriber of this process.

A *source* learns of status changes from MongoDB itself, never from this
process's memory, so any number of API processes behind a load balancer each see
every change. One source runs per process and feeds one `Broker`, which fans the
events out to that process's subscribers through bounded queues.
"""

import asyncio
import contextlib
import inspect
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from beanie import PydanticObjectId
from pydantic import ValidationError

from kabinet import metrics
from kabinet.clock import now
from kabinet.documents import RequestDocument, RequestStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One history entry of one request."""

    change_id: PydanticObjectId
    request_id: PydanticObjectId
    user_id: PydanticObjectId
    status: RequestStatus
    previous_status: RequestStatus | None
    at: datetime
    # The request as the source read it, so subscribers need not read it again each.
    request: RequestDocument


def events_of(request: RequestDocument, *, after: datetime | None) -> list[StatusEvent]:
    """The request's history entries newer than ``after``, as events."""
    found = []
    previous: RequestStatus | None = None
    for change in request.history:
        if after is None or change.at > after:
            found.append(
                StatusEvent(
                    change_id=change.id,
                    request_id=request.id,  # type: ignore[arg-type]
                    user_id=request.user_id,
                    status=change.status,
                    previous_status=previous,
                    at=change.at,
                    request=request,
                )
            )
        previous = change.status
    return found


# How far back a reconnecting subscriber may ask to replay.
MAX_REPLAY = timedelta(days=1)


async def missed_since(
    since: datetime, *, owner_id: PydanticObjectId | None = None
) -> list[StatusEvent]:
    """Status changes after ``since`` (at most a day back), of one owner's requests or all,
    oldest first."""
    since = max(since, now() - MAX_REPLAY)
    query: dict[str, object] = {"updated_at": {"$gt": since}}
    if owner_id is not None:
        query["user_id"] = owner_id
    changed = await RequestDocument.find(query).to_list()
    return sorted(
        (event for request in changed for event in events_of(request, after=since)),
        key=lambda event: event.at,
    )


class SubscriberTooSlow(Exception):
    """The subscriber's queue overflowed; it was disconnected rather than hold others up."""


class _Subscription:
    def __init__(self, wanted: Callable[[StatusEvent], bool], capacity: int) -> None:
        self.wanted = wanted
        self.queue: asyncio.Queue[StatusEvent] = asyncio.Queue(capacity)
        self.overflowed = False


class Broker:
    """Fans events out to this process's subscribers; a full queue ends that subscriber."""

    def __init__(self, capacity: int = 100) -> None:
        self._capacity = capacity
        self._subscriptions: set[_Subscription] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def publish(self, event: StatusEvent) -> None:
        for subscription in list(self._subscriptions):
            if subscription.overflowed or not subscription.wanted(event):
                continue
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscription.overflowed = True
                self._subscriptions.discard(subscription)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, wanted: Callable[[StatusEvent], bool]
    ) -> AsyncIterator[AsyncIterator[StatusEvent]]:
        """Events for ``wanted``; a quiet subscriber waits on its queue and costs nothing."""
        subscription = _Subscription(wanted, self._capacity)
        self._subscriptions.add(subscription)

        async def events() -> AsyncIterator[StatusEvent]:
            while True:
                if subscription.overflowed and subscription.queue.empty():
                    raise SubscriberTooSlow
                yield await subscription.queue.get()

        try:
            with metrics.SUBSCRIPTIONS.track_inprogress():
                yield events()
        finally:
            self._subscriptions.discard(subscription)


class EventSource(Protocol):
    name: str

    async def run(self, broker: Broker) -> None: ...


def readable(document: dict[str, Any]) -> RequestDocument | None:
    """The request in a raw document, or None (logged) when this version cannot read it:
    one bad document must not stop the events of every other request."""
    try:
        return RequestDocument.model_validate(document)
    except ValidationError:
        logger.exception("request events: skipped unreadable request %s", document.get("_id"))
        return None


class PollingSource:
    """Tails the requests collection by `updated_at`: one query per interval per process.

    Works on any MongoDB, a standalone one or another process's embedded server.
    """

    name = "polling"
    # Writes from other processes may land with a slightly earlier `updated_at` than a
    # poll already saw; looking back this far and skipping seen changes covers that.
    OVERLAP = timedelta(seconds=5)

    def __init__(self, interval: float) -> None:
        self._interval = interval

    async def run(self, broker: Broker) -> None:
        cursor = now()
        seen: dict[PydanticObjectId, datetime] = {}
        while True:
            try:
                cursor, seen = await self._poll(broker, cursor, seen)
            except Exception:  # a database hiccup must not end live updates
                logger.exception("request events: polling failed; retrying")
            await asyncio.sleep(self._interval)

    async def _poll(
        self, broker: Broker, cursor: datetime, seen: dict[PydanticObjectId, datetime]
    ) -> tuple[datetime, dict[PydanticObjectId, datetime]]:
        since = cursor - self.OVERLAP
        collection = RequestDocument.get_pymongo_collection()
        changed = await collection.find({"updated_at": {"$gt": since}}).sort("updated_at").to_list()
        newest = cursor
        for document in changed:
            newest = max(newest, document["updated_at"])
            request = readable(document)
            for event in events_of(request, after=since) if request else ():
                if event.change_id not in seen:
                    seen[event.change_id] = event.at
                    broker.publish(event)
        newest = min(newest, now())
        horizon = newest - self.OVERLAP
        return newest, {change: at for change, at in seen.items() if at > horizon}


class WatchSource:
    """A change stream on the requests collection: MongoDB's on a replica set or sharded
    cluster, or the embedded engine's own in-process one."""

    # Remembered change ids, so an update that adds no history entry (a comment)
    # does not announce the last status again.
    REMEMBER = 10_000

    def __init__(self, name: str, collection: Any) -> None:
        self.name = name
        self._collection = collection

    async def run(self, broker: Broker) -> None:
        pipeline = [{"$match": {"operationType": {"$in": ["insert", "update", "replace"]}}}]
        seen: OrderedDict[PydanticObjectId, None] = OrderedDict()
        while True:
            stream = None
            try:
                stream = self._collection.watch(pipeline, full_document="updateLookup")
                if inspect.isawaitable(stream):  # PyMongo's is a coroutine, mongoeco's is not
                    stream = await stream
                async for change in stream:
                    document = change.get("fullDocument")
                    if document is None:
                        continue
                    request = readable(document)
                    if request is None:
                        continue
                    # The newest entry is the one this insert or update added, if any.
                    for event in events_of(request, after=None)[-1:]:
                        if event.change_id not in seen:
                            seen[event.change_id] = None
                            if len(seen) > self.REMEMBER:
                                seen.popitem(last=False)
                            broker.publish(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("request events: %s failed; reopening", self.name)
                await asyncio.sleep(1)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    with contextlib.suppress(Exception):
                        result = close()
                        if inspect.isawaitable(result):
                            await result


def choose_source(
    hello: dict[str, object], poll_interval: float, embedded_requests: Any | None
) -> EventSource:
    """The embedded engine's watch, MongoDB change streams on a replica set or mongos,
    and polling everywhere else (a standalone server, another process's embedded one)."""
    if embedded_requests is not None:
        return WatchSource("embedded-watch", embedded_requests)
    if hello.get("setName") or hello.get("msg") == "isdbgrid":
        return WatchSource("change-stream", RequestDocument.get_pymongo_collection())
    return PollingSource(poll_interval)
