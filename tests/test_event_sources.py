"""The three sources of request events, chosen by what the database offers."""

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from bson import ObjectId
from mongoeco import AsyncMongoClient as EmbeddedClient
from mongoeco.engines import MemoryEngine
from pymongo import AsyncMongoClient

from kabinet.clock import aware, clock, now
from kabinet.db import Database
from kabinet.documents import RequestDocument
from kabinet.events import Broker, PollingSource, StatusEvent, Tail, WatchSource, choose_source
from tests.requests_support import callback, customer
from tests.subscriptions import next_message, subscribed
from tests.support import Api, CommandLog, Mailbox, eventually, free_port
from tests.test_cli import run_cli, serving
from tests.test_processes import FILE, LOGIN, WATCH, gql


def test_sources_are_chosen_by_what_the_database_offers(database: Database):
    embedded = choose_source({}, 1.0, database.embedded_requests)
    replica_set = choose_source({"setName": "rs0"}, 1.0, None)
    mongos = choose_source({"msg": "isdbgrid"}, 1.0, None)
    standalone = choose_source({"isWritablePrimary": True}, 1.0, None)

    assert (embedded.name, replica_set.name, mongos.name, standalone.name) == (
        "embedded-watch",
        "change-stream",
        "change-stream",
        "polling",
    )
    assert isinstance(embedded, WatchSource)
    assert isinstance(standalone, PollingSource)


@contextlib.asynccontextmanager
async def running(source: str, database: Database) -> AsyncIterator[Broker]:
    """The named event source feeding a fresh broker, for the duration of the block; it is
    listening when the block begins (started as the app starts it, before serving)."""
    broker = Broker()
    events_source = (
        PollingSource(0.05)
        if source == "polling"
        else WatchSource("embedded-watch", database.embedded_requests)
    )
    await events_source.start()
    runner = asyncio.create_task(events_source.run(broker))
    try:
        yield broker
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


@pytest.mark.parametrize("source", ["polling", "embedded-watch"])
async def test_each_source_publishes_what_the_database_recorded(
    api: Api, mailbox: Mailbox, database: Database, source: str
):
    token = await customer(api, mailbox)
    async with running(source, database) as broker, broker.subscribe(lambda _: True) as stream:
        request = await callback(api, token)
        event = await asyncio.wait_for(anext(stream), 5)

    assert event.request.number == request["number"]
    assert event.previous_status is None
    assert event.status.name == "SUBMITTED"


@pytest.mark.parametrize("source", ["polling", "embedded-watch"])
async def test_an_unreadable_request_is_skipped_and_later_changes_still_arrive(
    api: Api, mailbox: Mailbox, database: Database, source: str, caplog: pytest.LogCaptureFixture
):
    token = await customer(api, mailbox)
    broken = await callback(api, token)
    async with (
        running(source, database) as broker,
        broker.subscribe(lambda event: event.request.number != broken["number"]) as stream,
    ):
        await break_request(broken["number"])
        await eventually(lambda: asyncio.sleep(0, skipped(caplog)))  # the source has read it
        request = await callback(api, token)
        event = await asyncio.wait_for(anext(stream), 5)

    assert event.request.number == request["number"]


async def break_request(number: str) -> None:
    """A status this version does not know, entered by something else."""
    await RequestDocument.get_pymongo_collection().update_one(
        {"number": number},
        {
            "$set": {"status": "LOST", "updated_at": now()},
            "$push": {
                "history": {"id": ObjectId(), "status": "LOST", "at": now(), "by_operator": True}
            },
        },
    )


def skipped(caplog: pytest.LogCaptureFixture) -> bool:
    return any("skipped unreadable request" in record.message for record in caplog.records)


async def test_polling_reads_a_change_once_and_not_again_once_the_collection_is_quiet(
    api: Api, mailbox: Mailbox, command_log: CommandLog
):
    token = await customer(api, mailbox)
    tail = Tail(RequestDocument.get_pymongo_collection(), now())
    request = await callback(api, token)
    published: list[StatusEvent] = []

    await tail.read(published.append)
    await tail.read(published.append)  # within the overlap: read, not published again
    stored = await RequestDocument.find_one({"number": request["number"]})
    clock.advance(Tail.OVERLAP + timedelta(seconds=1))
    await tail.read(published.append)  # the window reaches back to the read before
    await tail.read(published.append)

    assert [event.request.number for event in published] == [request["number"]]
    assert stored is not None
    last_read = command_log.selecting[-1]
    assert last_read["find"] == "requests"
    # The quiet read starts after the change, not at it: the change is not fetched again.
    assert last_read["filter"]["updated_at"]["$gt"] > aware(stored.updated_at)


async def test_polling_reports_an_unreadable_change_once(
    api: Api, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
):
    token = await customer(api, mailbox)
    broken = await callback(api, token)
    tail = Tail(RequestDocument.get_pymongo_collection(), now())
    await break_request(broken["number"])
    await eventually(lambda: asyncio.sleep(0, skipped(caplog)))  # by the app's own source
    caplog.clear()

    for _ in range(3):  # all within the overlap, so each read fetches the request
        await tail.read(lambda _: None)

    reports = [record for record in caplog.records if "skipped unreadable" in record.message]
    assert len(reports) == 1


@contextlib.asynccontextmanager
async def broken_stream() -> AsyncIterator[object]:
    """A collection of a closed embedded client: its change stream fails at once."""
    async with EmbeddedClient(MemoryEngine()) as client:
        collection = client["kabinet"]["requests"]
    yield collection


async def test_a_broken_stream_is_replaced_by_polling(
    api: Api, mailbox: Mailbox, database: Database
):
    token = await customer(api, mailbox)
    async with broken_stream() as requests:
        source = WatchSource("embedded-watch", requests, retry=0.05)
        broker = Broker()
        runner = asyncio.create_task(source.run(broker))
        try:
            async with broker.subscribe(lambda _: True) as stream:
                await eventually(lambda: asyncio.sleep(0, source.health.polling))
                request = await callback(api, token)
                event = await asyncio.wait_for(anext(stream), 5)
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    assert event.request.number == request["number"]
    assert source.health.polling
    assert source.health.flowing


class CountedWatches:
    """A collection whose attempts to open a change stream are counted."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.attempts = 0

    def watch(self, *args: Any, **kwargs: Any) -> Any:
        self.attempts += 1
        return self._collection.watch(*args, **kwargs)


async def test_events_are_not_flowing_while_neither_the_stream_nor_polling_works():
    unreachable = AsyncMongoClient(
        f"mongodb://127.0.0.1:{free_port()}", serverSelectionTimeoutMS=50
    )
    async with broken_stream() as broken:
        requests = CountedWatches(broken)
        source = WatchSource("embedded-watch", requests, unreachable.kabinet.requests, retry=0.05)
        runner = asyncio.create_task(source.run(Broker()))
        try:
            await eventually(lambda: asyncio.sleep(0, source.health.failing_since))
            failed_at = requests.attempts
            # Several more attempts to open the stream (each after a poll): still failing.
            await eventually(lambda: asyncio.sleep(0, requests.attempts >= failed_at + 3))
            health = source.health.as_json()
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            await unreachable.close()

    assert health["flowing"] is False
    assert health["polling"] is True
    assert health["failingSince"] is not None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MB tmpfs, mounted for the test and unmounted after it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    mount_command = [shutil.which("mount") or "mount", "-t", "tmpfs", "-o", "size=32m"]
    subprocess.run([*mount_command, "tmpfs", str(mount)], check=True)  # noqa: S603 - our paths
    try:
        yield mount
    finally:
        umount = shutil.which("umount") or "umount"
        subprocess.run([umount, "--lazy", str(mount)], check=True)  # noqa: S603 - our path


def fill(disk: Path) -> Path:
    """A file taking every free byte of ``disk``."""
    filler = disk / "filler"
    with filler.open("wb") as file, contextlib.suppress(OSError):
        while True:
            file.write(b"\0" * 4096)
            file.flush()
    return filler


CHANGE_WITH_COMMENT = """mutation($input: ChangeRequestStatusInput!) {
  changeRequestStatus(input: $input) { __typename ... on Request { status } }
}"""


async def change(http: httpx.AsyncClient, token: str, request_id: str, status: str) -> dict:
    """The whole answer (errors included) of a status change with a long comment."""
    variables = {"input": {"requestId": request_id, "status": status, "comment": "Ж" * 2000}}
    response = await http.post(
        "/graphql",
        json={"query": CHANGE_WITH_COMMENT, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.json()


async def test_events_flow_again_after_the_disk_was_full(tmp_path: Path, small_disk: Path):
    """Issue 12 item 12: a write that commits while the engine has no room to record its
    change breaks the embedded change stream for good; the source polls instead."""
    db_port = free_port()
    async with serving(tmp_path, data_dir=str(small_disk), embedded_port=str(db_port)) as http:
        code, output = await run_cli(
            "seed-demo", mongodb_uri=f"mongodb://127.0.0.1:{db_port}/?directConnection=true"
        )
        assert code == 0, output
        customer = (await gql(http, LOGIN, email="demo@example.com"))["login"]["token"]
        operator = (await gql(http, LOGIN, email="operator@example.com"))["login"]["token"]
        request = (await gql(http, FILE, customer))["createRequest"]
        server = str(http.base_url).rstrip("/")
        async with subscribed(server, customer, WATCH, {"id": request["id"]}) as ws:
            filler = fill(small_disk)
            full, freed = filler.stat().st_size, 0
            answers: list[dict] = []

            async def toggle() -> None:
                """A status change with a long comment, to IN_PROGRESS and NEEDS_INFO in turn
                (after a failure that wrote the change anyway, one is refused: NotAllowed)."""
                wanted = ("IN_PROGRESS", "NEEDS_INFO")[len(answers) % 2]
                answers.append(await change(http, operator, request["id"], wanted))

            # Changes until one no longer fits in the journal; then space back a page at a
            # time with a change after each, until a write that fits leaves the engine no
            # room to record it for its change stream (which /readyz then reports).
            while "errors" not in (answers or [{}])[-1] and len(answers) < 300:
                await toggle()
            polling = False
            while not polling and freed < 400:
                freed += 1
                os.truncate(filler, full - freed * 4096)
                await toggle()
                polling = (await http.get("/readyz")).json()["events"]["polling"]
            filler.unlink()
            # Whatever the failures left written (a masked failure may come after the change).
            status_query = "query($id: ID!) { node(id: $id) { ... on Request { status } } }"
            written = (await gql(http, status_query, customer, id=request["id"]))["node"]
            rejected = await change(http, operator, request["id"], "REJECTED")
            received = [""]
            while received[-1] != "REJECTED":
                event = (await next_message(ws, seconds=10))["payload"]["data"]
                received.append(event["requestUpdated"]["request"]["status"])
        ready = await http.get("/readyz")

    masked = [answer for answer in answers if "errors" in answer]
    assert masked[0]["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert polling
    assert rejected["data"]["changeRequestStatus"]["status"] == "REJECTED"
    # The change written as the stream broke arrived (polled), and the next one too.
    assert received[-2:] == [written["status"], "REJECTED"]
    assert ready.status_code == 200
    assert ready.json()["events"] | {"lastOpened": None} == {
        "source": "embedded-watch",
        "flowing": True,
        "failingSince": None,
        "lastOpened": None,
        "polling": True,
    }
    log = (tmp_path / "server.log").read_text()
    assert log.count("request events: embedded-watch failed; polling until it opens again") == 1
