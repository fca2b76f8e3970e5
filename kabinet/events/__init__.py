"""Request-status events: from the database to every subscriber of this process.

A *source* learns of status changes from MongoDB itself, never from this
process's memory, so any number of API processes behind a load balancer each see
every change. One source runs per process and feeds one `Broker`, which fans the
events out to that process's subscribers through bounded queues.
"""

import asyncio
import contextlib
import dataclasses
import inspect
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from beanie import PydanticObjectId
from pydantic import ValidationError
from pymongo.errors import OperationFailure

from kabinet import metrics
from kabinet.clock import aware, now
from kabinet.documents import RequestDocument, RequestStatus
from kabinet.documents.request import StatusChange, assignee_after

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
    # What its subscribers computed from it, to share (kabinet.schema.sharing): one event
    # object reaches every subscriber of this process.
    shared: dict[Hashable, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    # The groups whose answers subscribers wait for, to be written past their tasks
    # (`Broker`), by the same keys.
    leads: "dict[Hashable, _Lead]" = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def answered(self, key: Hashable) -> None:
        """The answer of the group ``key`` is in `shared`: written to those waiting for it."""
        lead = self.leads.get(key)
        if lead is not None:
            lead.answered()

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
    the history up to it, its assignee then and the comments written by then (a later
    change or comment is another event's story)."""
    change = request.history[position]
    history = request.history[: position + 1]
    return request.model_copy(
        update={
            "status": change.status,
            "history": history,
            "assignee_id": assignee_after(history),
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


async def missed_since(since: datetime, *, readable: dict[str, object]) -> list[StatusEvent]:
    """Status changes after ``since`` (at most a day back) of the requests ``readable``
    (a filter: `resolvers.requests.reading.readable_of`), oldest first."""
    since = max(since, now() - MAX_REPLAY)
    changed = await RequestDocument.find({"updated_at": {"$gt": since}, **readable}).to_list()
    return sorted(
        (event for request in changed for event in events_of(request, after=since)),
        key=lambda event: event.at,
    )


class SubscriberTooSlow(Exception):
    """The subscriber's queue overflowed; it was disconnected rather than hold others up."""


class HistoryLost(Exception):
    """The change stream could not resume where it stopped (its history no longer reaches
    back that far): changes in between were never published live, so every subscription
    ends and its client subscribes again with `since`, which replays them."""


class Shortcut(Protocol):
    """A live subscriber's way to its socket past its own task: its group's answer to an
    event, once there, written as it is (kabinet.schema.sharing.Direct)."""

    def key(self, event: StatusEvent) -> Hashable:
        """Its group's key among the event's `shared` answers."""
        ...

    @property
    def ready(self) -> bool:
        """Whether a frame written now goes out at once: its operation runs and its socket
        is open and not backed up."""
        ...

    def send(self, answer: Any) -> bool | None:
        """Writes the group's ``answer``: True when done (or dropped, its socket being
        closed), False when it cannot be (an answer with errors, a socket backed up: the
        subscriber's task takes the event), None while there is no answer yet."""
        ...


class _Lead:
    """One group's answer to one event: a subscriber's task computes it (the lead's), the
    others of the group wait for it in their `pending`."""

    __slots__ = ("finished", "waiting")

    def __init__(self) -> None:
        self.waiting: list[_Subscription] = []
        # The lead's task is done with the event (or gone): what has no answer by now is
        # left to each waiting subscriber's own task.
        self.finished = False

    def answered(self) -> None:
        """Writes the answer to every waiting subscriber whose turn it is."""
        written = sum(subscription.flush() for subscription in self.waiting)
        if written:
            metrics.SUBSCRIPTION_EVENTS_DIRECT.inc(written)

    def finish(self) -> None:
        self.finished = True
        self.answered()


class _Subscription:
    """One subscriber: its own queue and task, or, once live and idle, its `Shortcut`.

    An event takes the shortcut only when the subscriber's task has nothing of its own to
    send (its queue empty, no event in hand), and waits in `pending` until its group's
    answer is there; an event that cannot take it goes to the queue, with every pending
    one before it. So its events reach its socket in order, by one way or the other.
    """

    def __init__(
        self,
        wanted: Callable[[StatusEvent], bool],
        capacity: int,
        overflowed: Callable[[], None] | None,
        registry: dict["_Subscription", None],
    ) -> None:
        self.wanted = wanted
        self.queue: asyncio.Queue[StatusEvent] = asyncio.Queue(capacity)
        self.overflowed = overflowed
        self._capacity = capacity
        self._registry = registry
        # Why the subscription ends once its queue is drained.
        self.ended: type[Exception] = SubscriberTooSlow
        # Events it replayed (`skip`): one published live too is not delivered twice.
        self.replayed: set[PydanticObjectId] = set()
        self.shortcut: Shortcut | None = None
        self.pending: deque[tuple[StatusEvent, Hashable, _Lead]] = deque()
        # The event its task is handling, and the groups it answers for (by change).
        self.handling: StatusEvent | None = None
        self.leading: dict[PydanticObjectId, _Lead] = {}

    @property
    def idle(self) -> bool:
        """Whether its task has nothing in hand or queued: a frame written past it now
        overtakes nothing."""
        return self.handling is None and self.queue.empty()

    def skip(self, replayed: set[PydanticObjectId]) -> None:
        """The changes it replayed: not delivered again when they are published live."""
        self.replayed = replayed

    def go_live(self, shortcut: Shortcut | None) -> None:
        """Its replay is done: from now on an event may reach its socket by ``shortcut``."""
        self.shortcut = shortcut

    def deliver(self, event: StatusEvent, leads: dict[Hashable, _Lead]) -> None:
        """``event`` (which it wants) by the shortcut when it may take it, else its queue;
        the first subscriber of a group whose task takes the event answers for the group."""
        shortcut = self.shortcut
        if shortcut is None:
            self.enqueue(event)
            return
        key = shortcut.key(event)
        lead = leads.get(key)
        if lead is not None and (self.pending or self.idle) and shortcut.ready:
            if len(self.pending) >= self._capacity:
                self.end(SubscriberTooSlow)
                return
            self.pending.append((event, key, lead))
            lead.waiting.append(self)
            return
        self.to_task()
        if self.enqueue(event) and lead is None and shortcut.ready:
            leads[key] = self.leading[event.change_id] = _Lead()

    def flush(self) -> int:
        """Sends its pending events whose answers are there, in order; the first that cannot
        be sent goes to its task with all after it. How many it wrote."""
        pending, written = self.pending, 0
        while pending and self.shortcut is not None:
            event, key, lead = pending[0]
            sent = self.shortcut.send(event.shared.get(key))
            if sent is None and not lead.finished:
                break  # the lead's task is still at it
            if not sent:
                self.to_task()
                break
            pending.popleft()
            written += 1
        return written

    def to_task(self) -> None:
        """Its pending events go to its queue, for its task to send (in order)."""
        while self.pending:
            self.enqueue(self.pending.popleft()[0])

    def enqueue(self, event: StatusEvent) -> bool:
        """Whether ``event`` was queued; a full queue ends the subscription."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.end(SubscriberTooSlow)
            return False
        return True

    def end(self, reason: type[Exception]) -> None:
        """Ends it with ``reason`` after the events it has (pending ones too, queued first);
        when it fell behind, ``overflowed`` is told."""
        self._registry.pop(self, None)
        self.to_task()
        self.shortcut = None
        self.ended = reason
        self.queue.shutdown()
        if reason is SubscriberTooSlow and self.overflowed is not None:
            self.overflowed()

    def handled(self) -> None:
        """Its task is done with the event in hand: the groups it answered for may go on."""
        event, self.handling = self.handling, None
        if event is not None and (lead := self.leading.pop(event.change_id, None)):
            lead.finish()

    def left(self) -> None:
        """It is gone: nothing more by its shortcut, and no group waits for its task."""
        self._registry.pop(self, None)
        self.shortcut = None
        self.pending.clear()
        self.handled()
        leading, self.leading = self.leading, {}
        for lead in leading.values():
            lead.finish()

    def __aiter__(self) -> "_Subscription":
        return self

    async def __anext__(self) -> StatusEvent:
        self.handled()
        while True:
            try:
                event = await self.queue.get()
            except asyncio.QueueShutDown:
                raise self.ended from None
            if event.change_id not in self.replayed:
                self.handling = event
                return event


class Broker:
    """Fans events out to this process's subscribers; a full queue ends that subscriber.

    Subscribers are served in the order they subscribed, so the first subscriber of a group
    whose task takes an event is the one that answers for it (kabinet.schema.sharing); a
    live subscriber whose task is idle is written its group's answer by the lead's task as
    soon as it is there (`Shortcut`), without its own task waking.
    """

    def __init__(self, capacity: int = 100) -> None:
        self._capacity = capacity
        self._subscriptions: dict[_Subscription, None] = {}

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def publish(self, event: StatusEvent) -> None:
        leads, change = event.leads, event.change_id
        for subscription in list(self._subscriptions):
            replayed = subscription.replayed  # empty, mostly: no id hashed then
            if subscription.wanted(event) and not (replayed and change in replayed):
                subscription.deliver(event, leads)

    def end_all(self, reason: type[Exception]) -> None:
        """End every subscription with ``reason``, after the events already queued for it."""
        for subscription in list(self._subscriptions):
            subscription.end(reason)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, wanted: Callable[[StatusEvent], bool], overflowed: Callable[[], None] | None = None
    ) -> AsyncIterator[_Subscription]:
        """Events for ``wanted``; a quiet subscriber waits on its queue and costs nothing.
        ``overflowed`` is called when its queue is full (its reader is stuck, e.g. writing
        to a socket whose client does not read): the subscription has ended then."""
        subscription = _Subscription(wanted, self._capacity, overflowed, self._subscriptions)
        self._subscriptions[subscription] = None
        try:
            with metrics.SUBSCRIPTIONS.track_inprogress():
                yield subscription
        finally:
            subscription.left()


class EventSource(Protocol):
    name: str
    health: "SourceHealth"

    async def start(self) -> None:
        """Where the events begin: called before the app serves, so that nothing written
        after a subscriber's replay falls before the source's starting point."""

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
        self._seen: dict[Any, datetime] = {}

    async def read(self, publish: Callable[[StatusEvent], None]) -> None:
        # The next read starts from this one's start, whatever it found: a quiet
        # collection must not have its last burst of changes read again every interval.
        started = now()
        since = self._cursor - self.OVERLAP
        changed = (
            await self._collection.find({"updated_at": {"$gt": since}}).sort("updated_at").to_list()
        )
        for document in changed:
            if not (unseen := self._unseen_entries(document, since)):
                continue  # read within the overlap before: not validated again
            request = readable(document)
            for event in events_of(request, after=since) if request else ():
                if event.change_id in unseen:
                    publish(event)
            self._seen |= unseen  # an unreadable entry too: it is reported once
        self._cursor = started
        horizon = started - self.OVERLAP
        self._seen = {change: at for change, at in self._seen.items() if at > horizon}

    def _unseen_entries(self, document: dict[str, Any], since: datetime) -> dict[Any, datetime]:
        """The raw history entries of ``document`` after ``since`` not published yet."""
        entries = document.get("history")
        unseen: dict[Any, datetime] = {}
        for entry in entries if isinstance(entries, list) else ():
            at = entry.get("at") if isinstance(entry, dict) else None
            if isinstance(at, datetime) and aware(at) > since and entry.get("id") not in self._seen:
                unseen[entry.get("id")] = aware(at)
        return unseen


class PollingSource:
    """Tails the requests collection by `updated_at`: one query per interval per process.

    Works on any MongoDB, a standalone one or another process's embedded server.
    """

    name = "polling"

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._tail: Tail | None = None
        self.health = SourceHealth()

    async def start(self) -> None:
        self._tail = self._new_tail()

    async def run(self, broker: Broker) -> None:
        tail = self._tail or self._new_tail()
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

    @staticmethod
    def _new_tail() -> Tail:
        return Tail(RequestDocument.get_pymongo_collection(), now())


# MongoDB's ChangeStreamHistoryLost; the embedded engine raises its failures without a code.
HISTORY_LOST_CODE = 286
EMBEDDED_HISTORY_LOST = "no longer available"


def history_lost(error: BaseException) -> bool:
    """Whether a stream failed because its history no longer reaches its resume point."""
    if not isinstance(error, OperationFailure):
        return False
    if error.code is None:
        return EMBEDDED_HISTORY_LOST in str(error)
    return error.code == HISTORY_LOST_CODE


class Announced:
    """The history entries this source published (by id), so none is published twice.

    A change that does not say which entries it added (the embedded engine's, which carry
    the document as the change left it but no `updateDescription`) adds those of its
    entries written after `floor` that were not published: the entries from before the
    source started, or forgotten since (`floor` rises past each), were announced then.
    """

    REMEMBER = 10_000

    def __init__(self) -> None:
        self.floor = datetime.min.replace(tzinfo=UTC)
        self._ids: OrderedDict[PydanticObjectId, datetime] = OrderedDict()
        self.from_now()

    def from_now(self) -> None:
        """Entries written from now on are new; earlier ones were announced, or are replayed
        with `since`. Times have millisecond resolution, so this very millisecond counts."""
        self.floor = max(self.floor, now() - timedelta(milliseconds=1))

    def first_time(self, change: StatusChange) -> bool:
        """Whether ``change`` is new, noting it as published."""
        if change.id in self._ids:
            return False
        self._ids[change.id] = aware(change.at)  # the embedded stream's times have no zone
        if len(self._ids) > self.REMEMBER:
            self.floor = max(self.floor, self._ids.popitem(last=False)[1])
        return True


def status_events(change: dict[str, Any], announced: Announced) -> list[StatusEvent]:
    """The events of one change to a request (insert, update or replace), oldest first:
    the history entries it added, each as the request stood right after it, none twice.

    Which entries it added comes from the change event itself, never from the document
    (`updateLookup` returns it as it is now, with later entries): all of an insert's, and
    on an update those in `updateDescription.updatedFields` (`history.N`, or `history`
    when the whole array was written). The document only supplies the rest of the request
    (`as_of` cuts it back to each entry). A comment or an anonymisation adds none.
    """
    document = change.get("fullDocument")
    request = readable(document) if document is not None else None
    if request is None:  # deleted since, or unreadable (logged)
        return []
    added = _added_ids(change)
    positions = [
        position
        for position, entry in enumerate(request.history)
        if (entry.id in added if added is not None else aware(entry.at) > announced.floor)
    ]
    return [
        event_at(request, position)
        for position in positions
        if announced.first_time(request.history[position])
    ]


def _added_ids(change: dict[str, Any]) -> set[Any] | None:
    """The ids of the history entries the change event says it added; None when it does not
    say (a replace, or an update event without `updateDescription`)."""
    if change.get("operationType") == "insert":
        return _entry_ids(change["fullDocument"].get("history"))
    description = change.get("updateDescription")
    if change.get("operationType") != "update" or description is None:
        return None
    added: set[Any] = set()
    for field, value in description.get("updatedFields", {}).items():
        name, _, position = field.partition(".")
        if field == "history":
            added |= _entry_ids(value)
        elif name == "history" and position.isdigit():  # not `history.N.comment`
            added |= _entry_ids([value])
    return added


def _entry_ids(entries: Any) -> set[Any]:
    """The ids of raw history entries; whatever is not one (written by something else) has
    none, and `readable` reports the document."""
    if not isinstance(entries, list):
        return set()
    return {entry.get("id") for entry in entries if isinstance(entry, dict)} - {None}


class WatchSource:
    """A change stream on the requests collection: MongoDB's on a replica set or sharded
    cluster, or the embedded engine's own in-process one.

    It resumes after the last change it saw (`start_after`, which also gets past an
    `invalidate`), so a stream that broke loses nothing; when the history no longer reaches
    back that far, every subscription ends with `HistoryLost` and the stream starts again
    from now. While the stream cannot be opened, events are polled (as `PollingSource` does,
    through the application's connection) and the stream is tried again every ``retry``
    seconds. The embedded engine needs this: once it fails to publish a committed change
    (its change delivery writes too, so a full disk does it), its stream stays failed until
    the process restarts.
    """

    PIPELINE = ({"$match": {"operationType": {"$in": ["insert", "update", "replace"]}}},)

    def __init__(
        self, name: str, collection: Any, fallback: Any | None = None, retry: float = 1.0
    ) -> None:
        self.name = name
        self._collection = collection
        self._fallback = (
            fallback if fallback is not None else RequestDocument.get_pymongo_collection()
        )
        self._retry = retry
        self._announced = Announced()
        # Where to resume: the last change seen, or (PyMongo) the stream's own resume token,
        # which also moves past the changes of other collections.
        self._resume_token: dict[str, Any] | None = None
        # The stream `start` opened, for `run` to read first.
        self._opened: Any | None = None
        self.health = SourceHealth()

    async def start(self) -> None:
        self._announced.from_now()
        try:
            self._opened = await self._open()
        except Exception:  # `run` opens it again, and falls back to polling if it must
            logger.debug("request events: %s did not open at start", self.name, exc_info=True)

    async def run(self, broker: Broker) -> None:
        publish = self._publisher(broker)
        # Made at the first failure: it looks back past the write that broke the stream.
        tail: Tail | None = None
        while True:
            try:
                await self._watch(broker, tail)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if history_lost(error):
                    logger.warning(
                        "request events: %s cannot resume (its history is gone); ending "
                        "every subscription so clients replay with `since`",
                        self.name,
                    )
                    self._resume_token = None
                    self._announced.from_now()
                    broker.end_all(HistoryLost)
                    continue
                if not self.health.polling:  # once, not every retry
                    logger.exception(
                        "request events: %s failed; polling until it opens again", self.name
                    )
                self.health.polling = True
                self.health.failed()
                tail = tail or Tail(self._fallback, now())
                await self._poll(tail, publish)
                await asyncio.sleep(self._retry)

    async def _open(self) -> Any:
        stream = self._collection.watch(
            list(self.PIPELINE), full_document="updateLookup", start_after=self._resume_token
        )
        if inspect.isawaitable(stream):  # PyMongo's is a coroutine, mongoeco's is not
            stream = await stream
        return stream

    async def _watch(self, broker: Broker, tail: Tail | None) -> None:
        """Opens the stream (or takes the one `start` opened) and publishes from it; raises
        when it fails. The stream counts as open once it has delivered a change or stayed
        quiet ``retry`` seconds without failing (the embedded one opens without complaint
        and fails at the first wait)."""
        stream, self._opened = self._opened or await self._open(), None
        try:
            changes = aiter(stream)
            first = asyncio.ensure_future(anext(changes))
            try:
                await asyncio.wait({first}, timeout=self._retry)
                if first.done():
                    first.result()  # raises the stream's failure, if that is what came
                await self._now_open(tail, broker)
                self._publish(await first, broker)
            finally:
                first.cancel()
            async for change in changes:
                self._publish(change, broker)
        finally:
            self._resume_token = getattr(stream, "resume_token", None) or self._resume_token
            with contextlib.suppress(Exception):
                result = stream.close()
                if inspect.isawaitable(result):
                    await result

    def _publisher(self, broker: Broker) -> Callable[[StatusEvent], None]:
        """Publishes an event not published before (the tail may read what the stream
        delivered, and the stream may resume over what the tail read)."""

        def publish(event: StatusEvent) -> None:
            if self._announced.first_time(event.change):
                broker.publish(event)

        return publish

    def _publish(self, change: dict[str, Any], broker: Broker) -> None:
        for event in status_events(change, self._announced):
            broker.publish(event)
        self._resume_token = change["_id"]

    async def _now_open(self, tail: Tail | None, broker: Broker) -> None:
        self.health.last_opened = now()
        if tail is not None:  # what changed since the last poll, while the stream was down
            await tail.read(self._publisher(broker))
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
