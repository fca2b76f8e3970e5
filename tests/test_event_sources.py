"""The three sources of request events, chosen by what the database offers."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from kabinet.clock import now
from kabinet.db import Database
from kabinet.documents import RequestDocument
from kabinet.events import Broker, PollingSource, WatchSource, choose_source
from tests.requests_support import callback, customer
from tests.support import Api, Mailbox


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
    """The named event source feeding a fresh broker, for the duration of the block."""
    broker = Broker()
    events_source = (
        PollingSource(0.05)
        if source == "polling"
        else WatchSource("embedded-watch", database.embedded_requests)
    )
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
        await asyncio.sleep(0.1)  # the source is listening
        request = await callback(api, token)
        event = await asyncio.wait_for(anext(stream), 5)

    assert event.request.number == request["number"]
    assert event.previous_status is None
    assert event.status.name == "SUBMITTED"


@pytest.mark.parametrize("source", ["polling", "embedded-watch"])
async def test_an_unreadable_request_is_skipped_and_later_changes_still_arrive(
    api: Api, mailbox: Mailbox, database: Database, source: str
):
    token = await customer(api, mailbox)
    broken = await callback(api, token)
    async with (
        running(source, database) as broker,
        broker.subscribe(lambda event: event.request.number != broken["number"]) as stream,
    ):
        await asyncio.sleep(0.1)  # the source is listening
        # A status this version does not know, written by something else.
        await RequestDocument.get_pymongo_collection().update_one(
            {"number": broken["number"]}, {"$set": {"status": "LOST", "updated_at": now()}}
        )
        await asyncio.sleep(0.2)  # the source has read it
        request = await callback(api, token)
        event = await asyncio.wait_for(anext(stream), 5)

    assert event.request.number == request["number"]
