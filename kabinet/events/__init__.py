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
from kabinet.documents.request import StatusChange

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One history entry of one request."""

    change: StatusChange
    request_id: PydanticObjectId
    user_id: PydanticObjectId
    previous_status: RequestStatus | None
    # The request as it was right after this change, so that an event says the same
    # whether it is delivered live or replayed later, and subscribers need not read it.
    request: RequestDocument

    @property
    def change_id(self) -> PydanticObjectId:
        return self.change.id

    @property
    def status(self) -> RequestStatus:
        return self.change.status

    @property
    def at(self) -> datetime:
        return self.change.at


def as_of(request: RequestDocument, position: int) -> RequestDocument:
    """``request`` as it stood right after its history entry at ``position``: that status,
    the history up to it and the comments written by then (a later change or comment is
    another event's story)."""
    change = request.history[position]
    return request.model_copy(
        update={
            "status": change.status,
            "history": request.history[: position + 1],
            "comments": [comment for comment in request.comments if comment.at <= change.at],
            "updated_at": change.at,
        }
    )


def event_at(request: RequestDocument, position: int) -> StatusEvent:
    """The request's history entry at ``position`` as an event."""
    history = request.history
    return StatusEvent(
        change=history[position],
        request_id=request.id,  # type: ignore[arg-type]
        user_id=request.user_id,
        previous_status=history[position - 1].status if position else None,
        request=as_of(request, position),
    )


def events_of(request: RequestDocument, *, after: datetime | None) -> list[StatusEvent]:
    """The request's history entries newer than ``after``, as events."""
    return [
        event_at(request, position)
        for position, change in enumerate(request.history)
        if after is None or change.at > after
    ]


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
    health: "SourceHealth"

    async def run(self, broker: Broker) -> None: ...


def readable(document: dict[str, Any]) -> RequestDocument | None:
    """The request in a raw document, or None (logged) when this version cannot read it:
    one bad document must not stop the events of every other request."""
    try:
        return RequestDocument.model_validate(document)
    except ValidationError:
        logger.exception("request events: skipped unreadable request %s", document.get("_id"))
        return None


@dataclass(slots=True)
class SourceHealth:
    """Whether events flow; `/readyz` is not ready while they do not."""

    # Since when the source has neither watched nor polled successfully.
    failing_since: datetime | None = None
    # When the change stream was last opened (None for the polling source).
    last_opened: datetime | None = None
    # A watch source serving events by polling while its watch cannot open.
    polling: bool = False

    @property
    def flowing(self) -> bool:
        return self.failing_since is None

    def failed(self) -> None:
        if self.failing_since is None:
            self.failing_since = now()

    def as_json(self) -> dict[str, object]:
        return {
            "flowing": self.flowing,
            "failingSince": self.failing_since.isoformat() if self.failing_since else None,
            "lastOpened": self.last_opened.isoformat() if self.last_opened else None,
            "polling": self.polling,
        }


class Tail:
    """Reads the requests changed since the last read (by `updated_at`, through any
    MongoDB connection) and publishes each of their new history entries once."""

    # Writes from other processes may land with a slightly earlier `updated_at` than a
    # read already saw; looking back this far and skipping seen changes covers that.
    OVERLAP = timedelta(seconds=5)

    def __init__(self, collection: Any, since: datetime) -> None:
        self._collection = collection
        self._cursor = since
        self._seen: dict[PydanticObjectId, datetime] = {}

    async def read(self, publish: Callable[[StatusEvent], None]) -> None:
        since = self._cursor - self.OVERLAP
        changed = (
            await self._collection.find({"updated_at": {"$gt": since}}).sort("updated_at").to_list()
        )
        newest = self._cursor
        for document in changed:
            newest = max(newest, document["updated_at"])
            request = readable(document)
            for event in events_of(request, after=since) if request else ():
                if event.change_id not in self._seen:
                    self._seen[event.change_id] = event.at
                    publish(event)
        self._cursor = min(newest, now())
        horizon = self._cursor - self.OVERLAP
        self._seen = {change: at for change, at in self._seen.items() if at > horizon}


class PollingSource:
    """Tails the requests collection by `updated_at`: one query per interval per process.

    Works on any MongoDB, a standalone one or another process's embedded server.
    """

    name = "polling"

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self.health = SourceHealth()

    async def run(self, broker: Broker) -> None:
        tail = Tail(RequestDocument.get_pymongo_collection(), now())
        while True:
            try:
                await tail.read(broker.publish)
            except Exception:  # a database hiccup must not end live updates
                if self.health.flowing:
                    logger.exception("request events: polling failed; retrying")
                self.health.failed()
            else:
                self.health.failing_since = None
            await asyncio.sleep(self._interval)


class WatchSource:
    """A change stream on the requests collection: MongoDB's on a replica set or sharded
    cluster, or the embedded engine's own in-process one.

    While the stream cannot be opened, events are polled (as `PollingSource` does, through
    the application's connection) and the stream is tried again every ``retry`` seconds.
    The embedded engine needs this: once it fails to publish a committed change (its
    change delivery writes too, so a full disk does it), its stream stays failed until
    the process restarts.
    """

    # Remembered change ids, so an update that adds no history entry (a comment)
    # does not announce the last status again.
    REMEMBER = 10_000

    def __init__(
        self, name: str, collection: Any, fallback: Any | None = None, retry: float = 1.0
    ) -> None:
        self.name = name
        self._collection = collection
        self._fallback = (
            fallback if fallback is not None else RequestDocument.get_pymongo_collection()
        )
        self._retry = retry
        self._seen: OrderedDict[PydanticObjectId, None] = OrderedDict()
        self.health = SourceHealth()

    async def run(self, broker: Broker) -> None:
        def publish(event: StatusEvent) -> None:
            if event.change_id not in self._seen:
                self._seen[event.change_id] = None
                if len(self._seen) > self.REMEMBER:
                    self._seen.popitem(last=False)
                broker.publish(event)

        # Made at the first failure: it looks back past the write that broke the stream.
        tail: Tail | None = None
        while True:
            try:
                await self._watch(publish, tail)
            except asyncio.CancelledError:
                raise
            except Exception:
                if not self.health.polling:  # once, not every retry
                    logger.exception(
                        "request events: %s failed; polling until it opens again", self.name
                    )
                self.health.polling = True
                self.health.failed()
                tail = tail or Tail(self._fallback, now())
                await self._poll(tail, publish)
                await asyncio.sleep(self._retry)

    async def _watch(self, publish: Callable[[StatusEvent], None], tail: Tail | None) -> None:
        """Opens the stream and publishes from it; raises when it fails. The stream counts as
        open once it has delivered a change or stayed quiet ``retry`` seconds without failing
        (the embedded one opens without complaint and fails at the first wait)."""
        pipeline = [{"$match": {"operationType": {"$in": ["insert", "update", "replace"]}}}]
        stream = self._collection.watch(pipeline, full_document="updateLookup")
        if inspect.isawaitable(stream):  # PyMongo's is a coroutine, mongoeco's is not
            stream = await stream
        try:
            changes = aiter(stream)
            first = asyncio.ensure_future(anext(changes))
            try:
                await asyncio.wait({first}, timeout=self._retry)
                if first.done():
                    first.result()  # raises the stream's failure, if that is what came
                await self._opened(tail, publish)
                _publish_newest(await first, publish)
            finally:
                first.cancel()
            async for change in changes:
                _publish_newest(change, publish)
        finally:
            with contextlib.suppress(Exception):
                result = stream.close()
                if inspect.isawaitable(result):
                    await result

    async def _opened(self, tail: Tail | None, publish: Callable[[StatusEvent], None]) -> None:
        self.health.last_opened = now()
        if tail is not None:  # what changed since the last poll, while the stream was down
            await tail.read(publish)
        if self.health.polling:
            logger.info("request events: %s is open again", self.name)
        self.health.polling = False
        self.health.failing_since = None

    async def _poll(self, tail: Tail, publish: Callable[[StatusEvent], None]) -> None:
        """One read while the stream is down: events flow if it succeeds."""
        try:
            await tail.read(publish)
        except Exception:
            logger.debug("request events: polling while %s is down failed", self.name)
        else:
            self.health.failing_since = None


def _publish_newest(change: dict[str, Any], publish: Callable[[StatusEvent], None]) -> None:
    """The newest history entry of the changed request: the one this insert or update
    added, if any (a comment adds none, and `publish` skips the entry it saw before)."""
    document = change.get("fullDocument")
    request = readable(document) if document is not None else None
    if request is not None and request.history:
        publish(event_at(request, len(request.history) - 1))


def choose_source(
    hello: dict[str, object], poll_interval: float, embedded_requests: Any | None
) -> EventSource:
    """The embedded engine's watch, MongoDB change streams on a replica set or mongos,
    and polling everywhere else (a standalone server, another process's embedded one)."""
    if embedded_requests is not None:
        return WatchSource("embedded-watch", embedded_requests, retry=poll_interval)
    if hello.get("setName") or hello.get("msg") == "isdbgrid":
        return WatchSource(
            "change-stream", RequestDocument.get_pymongo_collection(), retry=poll_interval
        )
    return PollingSource(poll_interval)
