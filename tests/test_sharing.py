"""Execute once, send many (kabinet.schema.sharing): an event's selection runs once per
group of subscribers, through the executor the schema uses."""

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, Hashable
from dataclasses import dataclass, field
from typing import Any

import strawberry
from strawberry.types import Info

from kabinet.schema.sharing import SharedData, SharingExecutor, encode_message


@dataclass
class Viewer:
    name: str
    staff: bool


@strawberry.type
class Event:
    owner: strawberry.Private[str]
    answers: strawberry.Private[dict[Hashable, Any]]
    runs: strawberry.Private[list[str]]
    answered_groups: strawberry.Private[list[Hashable]] = dataclasses.field(default_factory=list)

    @strawberry.field
    def seen_by(self, info: Info) -> str:
        viewer: Viewer = info.context["viewer"]
        self.runs.append(viewer.name)
        return "staff" if viewer.staff else viewer.name

    @strawberry.field
    async def later(self) -> int:
        await asyncio.sleep(0)
        return len(self.runs)

    def audience(self, context: Any) -> Hashable:
        viewer: Viewer = context["viewer"]
        return "staff" if viewer.staff else viewer.name

    def viewer(self, context: Any) -> Hashable:
        return context["viewer"].name

    def answered(self, key: Hashable) -> None:
        self.answered_groups.append(key)


@dataclass
class Feed:
    queues: list[asyncio.Queue[Event]] = field(default_factory=list)


@strawberry.type
class Query:
    ping: int = 0


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def events(self, info: Info) -> AsyncGenerator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        info.context["feed"].queues.append(queue)
        while True:
            yield await queue.get()


SCHEMA = strawberry.Schema(
    query=Query, subscription=Subscription, execution_context_class=SharingExecutor
)
VIEWERS = [Viewer("olena", False), Viewer("ops-1", True), Viewer("ops-2", True)]


async def answers_to_one_event(query: str) -> tuple[list[Any], list[str], list[Hashable]]:
    feed = Feed()
    streams = [
        await SCHEMA.subscribe(query, context_value={"viewer": viewer, "feed": feed})
        for viewer in [*VIEWERS, VIEWERS[0]]  # olena twice: two tabs
    ]
    firsts = [asyncio.ensure_future(anext(stream)) for stream in streams]
    while len(feed.queues) < len(streams):  # noqa: ASYNC110 - until every one listens
        await asyncio.sleep(0)
    event = Event(owner="olena", answers={}, runs=[])
    for queue in feed.queues:
        queue.put_nowait(event)  # the same object reaches all, as the broker's does
    results = await asyncio.gather(*firsts)
    for stream in streams:
        await stream.aclose()
    return [result.data for result in results], event.runs, event.answered_groups


async def test_a_selection_runs_once_per_audience():
    data, runs, answered = await answers_to_one_event("subscription { events { seenBy } }")

    assert sorted(runs) == ["olena", "ops-1"]  # olena's two tabs and the two operators share
    assert len(set(answered)) == len(answered) == 2  # each group's answer announced once
    assert [d["events"]["seenBy"] for d in data] == ["olena", "staff", "staff", "olena"]
    assert isinstance(data[1], SharedData)
    assert data[1] is data[2]  # one answer, encoded once


async def test_a_selection_that_waits_is_shared_too():
    data, runs, answered = await answers_to_one_event("subscription { events { seenBy later } }")

    assert sorted(runs) == ["olena", "ops-1"]
    assert len(set(answered)) == len(answered) == 2  # once each answer is there
    assert [d["events"]["later"] for d in data][1:3] == [2, 2]


def test_a_shared_answer_is_spliced_into_each_message():
    data = SharedData({"events": {"seenBy": "staff"}})
    first = encode_message({"id": "a", "type": "next", "payload": {"data": data}})
    second = encode_message({"id": "b", "type": "next", "payload": {"data": data}})

    assert first == '{"id":"a","type":"next","payload":{"data":{"events":{"seenBy":"staff"}}}}'
    assert second == first.replace('"a"', '"b"')
