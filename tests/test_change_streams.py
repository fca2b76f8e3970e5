"""Change streams (issue 19 items 1-3): resuming where the stream stopped, the entries a
change added taken from the change itself, and no gap at start-up.

Each test on a stream runs on the embedded engine and, when `KABINET_TEST_MONGODB_URI`
names a replica set or mongos, on MongoDB's own change streams too.
"""

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from bson import ObjectId
from mongoeco import AsyncMongoClient as EmbeddedClient
from mongoeco.engines import MemoryEngine
from mongoeco.errors import OperationFailure as EmbeddedFailure
from pymongo.errors import AutoReconnect, OperationFailure

from kabinet import events
from kabinet.app import create_app
from kabinet.clock import clock, now
from kabinet.config import Settings
from kabinet.db import Database, keep_change_history
from kabinet.documents import RequestDocument
from kabinet.events import Announced, Broker, HistoryLost, StatusEvent, WatchSource
from tests.conftest import serve_on_loopback
from tests.policies import staff_token
from tests.requests_support import callback, customer
from tests.subscriptions import next_message, subscribed
from tests.support import Api, Mailbox
from tests.test_live_status import RESUME, change

# The embedded engine's history where a test outruns it: a few changes.
HISTORY = 5


@pytest.fixture(params=["embedded", "replica-set"])
async def requests(request: pytest.FixtureRequest, database: Database) -> AsyncIterator[Any]:
    """A requests collection with a change stream: an embedded engine of its own, recording
    changes as the application's does, or MongoDB's when the test database is a replica
    set."""
    if request.param == "replica-set":
        if not os.environ.get("KABINET_TEST_MONGODB_URI"):
            pytest.skip("MongoDB change streams need KABINET_TEST_MONGODB_URI")
        hello = await database.client.admin.command("hello")
        if not (hello.get("setName") or hello.get("msg") == "isdbgrid"):
            pytest.skip("KABINET_TEST_MONGODB_URI is not a replica set or mongos")
        yield RequestDocument.get_pymongo_collection()
        return
    async with EmbeddedClient(MemoryEngine()) as client:
        history = keep_change_history(client)
        try:
            yield client["kabinet"]["requests"]
        finally:
            history.close()


def entry(status: str, at: datetime | None = None) -> dict[str, Any]:
    """A history entry as the database holds it."""
    return {
        "id": ObjectId(),
        "status": status,
        "at": at or now(),
        "comment": None,
        "by_operator": True,
        "actor_id": None,
    }


def filed(first: dict[str, Any]) -> dict[str, Any]:
    """A callback request as `createRequest` stores it, its history starting with ``first``."""
    return {
        "_id": ObjectId(),
        "number": f"2026-{ObjectId()}",
        "user_id": ObjectId(),
        "policy_id": ObjectId(),
        "kind": "callback",
        "status": first["status"],
        "details": {"kind": "callback", "phone": "+380501234567"},
        "attachments": [],
        "history": [first],
        "comments": [],
        "version": 1,
        "created_at": first["at"],
        "updated_at": first["at"],
        "unannounced": [],
    }


async def file(requests: Any) -> dict[str, Any]:
    document = filed(entry("submitted"))
    await requests.insert_one(document)
    return document


async def change_status(requests: Any, request_id: ObjectId, status: str) -> None:
    """A status change as `changeRequestStatus` writes it: one update pushing the entry."""
    added = entry(status)
    await requests.update_one(
        {"_id": request_id},
        {
            "$set": {"status": status, "updated_at": added["at"]},
            "$push": {"history": added},
            "$inc": {"version": 1},
        },
    )


async def comment(requests: Any, request_id: ObjectId) -> None:
    """A comment as `addComment` writes it: no history entry."""
    written = {"id": ObjectId(), "text": "Ось фото", "at": now(), "by_operator": False}
    await requests.update_one(
        {"_id": request_id},
        {"$push": {"comments": written}, "$set": {"updated_at": written["at"]}},
    )


async def anonymise(requests: Any, request_id: ObjectId) -> None:
    """What an account's erasure writes on its request (privacy._anonymise): every history
    entry's comment (`history.N.comment`), the comments and the details' personal fields."""
    await requests.update_one(
        {"_id": request_id},
        {
            "$set": {
                "history.0.comment": None,
                "comments": [],
                "details.phone": "",
                "anonymised_at": now(),
            }
        },
    )


@contextlib.asynccontextmanager
async def running(source: WatchSource, broker: Broker) -> AsyncIterator[None]:
    """``source`` feeding ``broker`` for the duration of the block; stopped after it."""
    runner = asyncio.create_task(source.run(broker))
    try:
        yield
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


def watching(requests: Any) -> WatchSource:
    return WatchSource("change-stream", requests, fallback=requests, retry=0.05)


async def received(stream: AsyncIterator[StatusEvent], count: int) -> list[StatusEvent]:
    return [await asyncio.wait_for(anext(stream), 5) for _ in range(count)]


def told(published: list[StatusEvent]) -> list[tuple[str | None, str, str, int]]:
    """Each event as (previous status, status, the request's status, its history length)."""
    return [
        (
            event.previous_status.value if event.previous_status else None,
            event.status.value,
            event.request.status.value,
            len(event.request.history),
        )
        for event in published
    ]


async def test_a_stopped_stream_resumes_where_it_stopped(requests: Any):
    """Item 1: the changes made while the stream was down all arrive, once, in order."""
    source, broker = watching(requests), Broker()
    await source.start()
    async with broker.subscribe(lambda _: True) as stream:
        async with running(source, broker):
            request = await file(requests)
            first = await received(stream, 1)
        for status in ("in_progress", "needs_info", "scheduled"):
            await change_status(requests, request["_id"], status)
        async with running(source, broker):
            missed = await received(stream, 3)
            await change_status(requests, request["_id"], "completed")
            after = await received(stream, 1)

    assert told(first) == [(None, "submitted", "submitted", 1)]
    assert told(missed) == [
        ("submitted", "in_progress", "in_progress", 2),
        ("in_progress", "needs_info", "needs_info", 3),
        ("needs_info", "scheduled", "scheduled", 4),
    ]
    # Nothing delivered twice: the next event is the next change.
    assert told(after) == [("scheduled", "completed", "completed", 5)]


async def test_when_the_history_is_gone_every_subscription_ends_and_events_go_on():
    """Item 1: a stream that cannot resume (the engine kept fewer changes than were made
    while it was down) ends every subscription with `HistoryLost` and starts from now."""
    async with EmbeddedClient(MemoryEngine(), change_stream_history_size=HISTORY) as client:
        history = keep_change_history(client)
        requests = client["kabinet"]["requests"]
        source, broker = watching(requests), Broker()
        await source.start()
        async with broker.subscribe(lambda _: True) as one, broker.subscribe(lambda _: True) as two:
            async with running(source, broker):
                request = await file(requests)
                heard = [*await received(one, 1), *await received(two, 1)]
            for status in ("in_progress", "needs_info") * HISTORY:
                await change_status(requests, request["_id"], status)
            async with running(source, broker):
                ended = [
                    await asyncio.gather(anext(stream), return_exceptions=True)
                    for stream in (one, two)
                ]
                async with broker.subscribe(lambda _: True) as again:
                    await change_status(requests, request["_id"], "completed")
                    later = await received(again, 1)
        history.close()

    assert told(heard) == [(None, "submitted", "submitted", 1)] * 2
    assert [type(result[0]) for result in ended] == [HistoryLost, HistoryLost]
    assert broker.subscribers == 0
    assert told(later) == [("needs_info", "completed", "completed", 2 + 2 * HISTORY)]


def test_a_lost_history_is_told_from_other_failures():
    """MongoDB's ChangeStreamHistoryLost (code 286) and the embedded engine's messages (it
    gives no code) end the subscriptions; an unavailable server or the embedded engine's
    failed publication (its stream then stays down) are failures to poll through."""
    lost = [
        OperationFailure("the resume point may no longer be in the oplog", code=286),
        EmbeddedFailure("resume token is no longer available in retained change stream history"),
        EmbeddedFailure("change stream history is no longer available"),
    ]
    other = [
        OperationFailure("not primary", code=10107),
        EmbeddedFailure("change stream history is unavailable after an event publication failure"),
        EmbeddedFailure("change stream hub is closed"),
        AutoReconnect("connection reset"),
    ]

    assert [events.history_lost(error) for error in lost] == [True] * len(lost)
    assert [events.history_lost(error) for error in other] == [False] * len(other)


def mongodb_update(
    document: dict[str, Any], updated: dict[str, Any], looked_up: dict[str, Any] | None
) -> dict[str, Any]:
    """An update event as MongoDB documents it, with `fullDocument: updateLookup` (the
    document as it is when the event is read)."""
    return {
        "_id": {"_data": str(ObjectId())},
        "operationType": "update",
        "ns": {"db": "kabinet", "coll": "requests"},
        "documentKey": {"_id": document["_id"]},
        "updateDescription": {"updatedFields": updated, "removedFields": [], "truncatedArrays": []},
        "fullDocument": looked_up,
    }


async def test_each_change_publishes_the_entries_it_added_as_the_request_stood_then(
    database: Database,  # RequestDocument reads the documents once Beanie knows it
):
    """Item 2, MongoDB's event shapes: `updateLookup` returns the request as it is when the
    event is read, with later entries; the entries come from `updatedFields`."""
    at = now() - timedelta(minutes=5)
    document = filed(entry("submitted", at))
    later = [
        entry(s, at + timedelta(seconds=n))
        for n, s in enumerate(["in_progress", "needs_info", "scheduled", "approved"], 1)
    ]
    history = [*document["history"], *later]
    final = document | {"history": history, "status": "approved"}
    inserted = {
        "_id": {"_data": str(ObjectId())},
        "operationType": "insert",
        "documentKey": {"_id": document["_id"]},
        "fullDocument": document,
    }
    updates = [
        # Two quick transitions: both read back after the second.
        mongodb_update(document, {"history.1": history[1], "status": "in_progress"}, final),
        mongodb_update(document, {"history.2": history[2], "status": "needs_info"}, final),
        # A comment and an anonymisation add no entry.
        mongodb_update(document, {"comments.0": {"text": "Ось фото"}}, final),
        mongodb_update(document, {"history.0.comment": None, "comments": []}, final),
        # Two entries pushed at once, and the whole array written.
        mongodb_update(document, {"history.3": history[3], "history.4": history[4]}, final),
        mongodb_update(document, {"history": history}, final),
        # The request deleted before the event was read.
        mongodb_update(document, {"history.5": entry("completed")}, None),
        # Something else wrote what is no history entry.
        mongodb_update(document, {"history.5": "?", "history": {"id": 1}}, final),
    ]
    announced = Announced()

    published = [events.status_events(change, announced) for change in [inserted, *updates]]

    assert [told(batch) for batch in published] == [
        [(None, "submitted", "submitted", 1)],
        [("submitted", "in_progress", "in_progress", 2)],
        [("in_progress", "needs_info", "needs_info", 3)],
        [],
        [],
        [("needs_info", "scheduled", "scheduled", 4), ("scheduled", "approved", "approved", 5)],
        [],  # all published already
        [],
        [],
    ]


async def test_two_quick_transitions_are_each_published_once_in_order(requests: Any):
    """Item 2: neither transition waits for the other's event."""
    source, broker = watching(requests), Broker()
    await source.start()
    async with broker.subscribe(lambda _: True) as stream, running(source, broker):
        request = await file(requests)
        await change_status(requests, request["_id"], "in_progress")
        await change_status(requests, request["_id"], "needs_info")
        published = await received(stream, 3)
        await change_status(requests, request["_id"], "scheduled")
        after = await received(stream, 1)

    assert told(published) == [
        (None, "submitted", "submitted", 1),
        ("submitted", "in_progress", "in_progress", 2),
        ("in_progress", "needs_info", "needs_info", 3),
    ]
    assert told(after) == [("needs_info", "scheduled", "scheduled", 4)]


@pytest.mark.parametrize("touch", [comment, anonymise])
async def test_a_change_adding_no_entry_after_a_restart_announces_nothing(
    requests: Any, touch: Callable[[Any, ObjectId], Any]
):
    """Item 2: a process that starts after the last status change and then sees a comment
    (or an erasure) does not announce that status again."""
    before, broker = watching(requests), Broker()
    await before.start()
    async with broker.subscribe(lambda _: True) as stream:
        async with running(before, broker):
            request = await file(requests)
            await change_status(requests, request["_id"], "in_progress")
            await received(stream, 2)
        clock.advance(timedelta(seconds=1))  # a restart takes longer than a millisecond
        restarted = watching(requests)
        await restarted.start()
        async with running(restarted, broker):
            await touch(requests, request["_id"])
            await change_status(requests, request["_id"], "needs_info")
            next_event = await received(stream, 1)

    assert told(next_event) == [("in_progress", "needs_info", "needs_info", 3)]


async def test_a_change_right_after_start_up_reaches_a_subscriber(
    settings: Settings, database: Database
):
    """Item 3: the stream is open once the app can serve. A subscriber (with nothing to
    replay, so it listens at once) and a change written right then, before the event task
    has had its first turn: on the embedded engine the write does not wait, so before the
    stream was opened at start-up it opened after this change and missed it."""
    app = create_app(settings, database=database)
    requests = database.embedded_requests
    if requests is None:  # KABINET_TEST_MONGODB_URI
        requests = RequestDocument.get_pymongo_collection()
    async with app.router.lifespan_context(app):
        broker: Broker = app.state.services.events
        async with broker.subscribe(lambda _: True) as stream:
            request = await file(requests)
            published = await received(stream, 1)

    assert published[0].request.number == request["number"]


async def test_a_subscription_ended_by_lost_history_says_to_replay_with_since(
    settings: Settings, database: Database, mailbox: Mailbox
):
    """Item 1: what a client receives when its subscription ends for lost history: a typed,
    localised error, then `complete`; on the same socket, `since` replays what it missed."""
    app = create_app(settings, database=database)
    instance, task, port = await serve_on_loopback(app)
    server = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=server, timeout=30) as http:
            api = Api(http)
            token = await customer(api, mailbox)
            operator = await staff_token(api, "operator@example.com", "operator")
            async with subscribed(server, token, RESUME) as ws:
                request = await callback(api, token)
                last_seen = (await next_message(ws))["payload"]["data"]["requestUpdated"]["at"]
                app.state.services.events.end_all(HistoryLost)
                ended = [await next_message(ws), await next_message(ws)]
                await change(api, operator, request["id"], "IN_PROGRESS")
                again = {"query": RESUME, "variables": {"since": last_seen}}
                await ws.send(json.dumps({"id": "again", "type": "subscribe", "payload": again}))
                replayed = await next_message(ws)
    finally:
        instance.should_exit = True
        await task

    error = ended[0]["payload"]["errors"][0]
    assert ended[0]["type"] == "next"
    assert error["extensions"] == {"code": "EVENTS_INTERRUPTED"}
    assert error["message"].startswith("Живі оновлення перервано")
    assert ended[1] == {"id": "s", "type": "complete"}
    assert replayed["id"] == "again"
    assert replayed["payload"]["data"]["requestUpdated"]["previousStatus"] == "SUBMITTED"
