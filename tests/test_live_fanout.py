"""Live status for many subscribers: answers shared per group with permissions checked per
subscriber, and a socket that cannot keep up closed (4413) without losing an event."""

import asyncio
import contextlib
import json
import socket

import pytest
import websockets
from prometheus_client import REGISTRY
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from kabinet.app import create_app
from kabinet.clock import now
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.events.sockets import SUBSCRIBER_TOO_SLOW
from kabinet.i18n import Locale, translate
from tests.conftest import serve_on_loopback
from tests.operations import ADD_COMMENT, CHANGE_STATUS
from tests.policies import staff_token
from tests.requests_support import callback, customer
from tests.subscriptions import next_message, nothing_within, subscribed
from tests.support import Api, Mailbox

# One text for everyone: members run `Mine`, operators `Queue`.
SAME_TEXT = """
subscription Mine { requestUpdated { status request { number status policy { number } } } }
subscription Queue { requestQueueUpdated { status request { number status policy { number } } } }
"""


def direct_events() -> float:
    """Live events written to sockets past their subscribers' tasks, by every server of
    this process (kabinet.events.Broker)."""
    return REGISTRY.get_sample_value("kabinet_subscription_events_direct_total") or 0.0


def numbers(messages: list[dict], field: str) -> list[str]:
    return [m["payload"]["data"][field]["request"]["number"] for m in messages]


async def test_a_shared_answer_reaches_only_those_allowed_to_see_it(
    api: Api, mailbox: Mailbox, server: str
):
    olena = await customer(api, mailbox)
    stranger = await customer(api, mailbox, "stranger@example.com", "+380501112233")
    operator = await staff_token(api, "operator@example.com", "operator")
    second_operator = await staff_token(api, "operator2@example.com", "operator")

    async with (
        subscribed(server, olena, SAME_TEXT, operation_name="Mine") as olenas,
        subscribed(server, olena, SAME_TEXT, operation_name="Mine") as olenas_other_tab,
        subscribed(server, stranger, SAME_TEXT, operation_name="Mine") as strangers,
        subscribed(server, operator, SAME_TEXT, operation_name="Queue") as queue,
        subscribed(server, second_operator, SAME_TEXT, operation_name="Queue") as other_queue,
    ):
        written = direct_events()
        hers = await callback(api, olena)
        theirs = await callback(api, stranger)
        olena_got = [await next_message(olenas)]
        other_tab_got = [await next_message(olenas_other_tab)]
        stranger_got = [await next_message(strangers)]
        queue_got = [await next_message(queue) for _ in range(2)]
        other_queue_got = [await next_message(other_queue) for _ in range(2)]
        # Nothing else is on its way to either member.
        assert await nothing_within(olenas, 0.5)
        assert await nothing_within(strangers, 0.5)
        # Each group's first answered, the rest were written its answer past their tasks:
        # olena's other tab once, the second operator twice; the stranger is alone.
        assert direct_events() - written == 3

    assert numbers(olena_got, "requestUpdated") == [hers["number"]]
    assert other_tab_got == olena_got
    assert numbers(stranger_got, "requestUpdated") == [theirs["number"]]
    assert sorted(numbers(queue_got, "requestQueueUpdated")) == sorted(
        [hers["number"], theirs["number"]]
    )
    assert other_queue_got == queue_got


async def change_status(api: Api, operator: str, request: dict, status: str) -> None:
    variables = {"input": {"requestId": request["id"], "status": status}}
    answer = await api.data(CHANGE_STATUS, variables, token=operator)
    assert answer["changeRequestStatus"]["status"] == status


async def test_each_protocol_gets_its_groups_answer_under_its_own_id(
    api: Api, mailbox: Mailbox, server: str
):
    """One group on three sockets: the first subscriber answers for it, the others are
    written the group's encoded answer past their tasks, each under its own operation id
    (quotes and Cyrillic escaped as JSON), in its protocol's type."""
    olena = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    quoted = 'вкладка "2"'
    async with (
        subscribed(server, olena, SAME_TEXT, operation_name="Mine") as first,
        subscribed(server, olena, SAME_TEXT, operation_name="Mine", operation_id=quoted) as second,
        subscribed(
            server,
            olena,
            SAME_TEXT,
            operation_name="Mine",
            operation_id="legacy",
            protocol="graphql-ws",
        ) as legacy,
    ):
        written = direct_events()
        request = await callback(api, olena)
        await change_status(api, operator, request, "IN_PROGRESS")
        got = {
            name: [await next_message(ws) for _ in range(2)]
            for name, ws in (("first", first), ("second", second), ("legacy", legacy))
        }
        assert await nothing_within(legacy, 0.5)
        assert direct_events() - written == 4  # both events to `second` and `legacy`

    assert [(m["id"], m["type"]) for m in got["first"]] == [("s", "next")] * 2
    assert [(m["id"], m["type"]) for m in got["second"]] == [(quoted, "next")] * 2
    assert [(m["id"], m["type"]) for m in got["legacy"]] == [("legacy", "data")] * 2
    payloads = [m["payload"] for m in got["first"]]
    assert [p["data"]["requestUpdated"]["status"] for p in payloads] == [
        "SUBMITTED",
        "IN_PROGRESS",
    ]
    assert [m["payload"] for m in got["second"]] == payloads
    assert [m["payload"] for m in got["legacy"]] == payloads


HEAVY = """subscription {
  requestUpdated { at request { history { comment } comments { text } } }
}"""
SINCE = """subscription($since: DateTime) { requestUpdated(since: $since) { at status } }"""


async def test_a_group_replays_then_shares_live_events_in_order_once(
    api: Api, mailbox: Mailbox, server: str
):
    """Two subscribers with the same `since` are one group: each replays what it missed
    (its own), then live events come shared (the second is sent the first's answer),
    in order and none twice."""
    olena = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    since = {"since": now().isoformat()}
    request = await callback(api, olena)
    await change_status(api, operator, request, "IN_PROGRESS")
    async with (
        subscribed(server, olena, SINCE, since) as first,
        subscribed(server, olena, SINCE, since, operation_id="t") as second,
    ):
        written = direct_events()
        await change_status(api, operator, request, "NEEDS_INFO")
        await change_status(api, operator, request, "IN_PROGRESS")
        got = [[await next_message(ws) for _ in range(4)] for ws in (first, second)]
        assert await nothing_within(first, 0.5)
        assert await nothing_within(second, 0.5)
        assert direct_events() - written == 2  # the live ones, to the second

    assert {(m["id"], m["type"]) for m in got[0]} == {("s", "next")}
    assert {(m["id"], m["type"]) for m in got[1]} == {("t", "next")}
    for messages in got:
        events = [m["payload"]["data"]["requestUpdated"] for m in messages]
        statuses = [event["status"] for event in events]
        assert statuses == ["SUBMITTED", "IN_PROGRESS", "NEEDS_INFO", "IN_PROGRESS"]
        assert [event["at"] for event in events] == sorted(event["at"] for event in events)
    assert [m["payload"] for m in got[1]] == [m["payload"] for m in got[0]]


@pytest.fixture
async def small_backlog(settings: Settings, database: Database):
    """A second server whose subscriptions queue at most two events."""
    configured = settings.model_copy(update={"ws_subscriber_backlog": 2})
    instance, task, port = await serve_on_loopback(create_app(configured, database=database))
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    await task


def subscriptions_open() -> float:
    return REGISTRY.get_sample_value("kabinet_subscriptions") or 0.0


class BareClient:
    """graphql-transport-ws over a bare connection that reads only when told to: a client
    that stops reading (a frozen tab, a stalled network) lets the server's writes back up."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: str):
        self._reader = reader
        self._writer = writer
        self.protocol = ClientProtocol(
            parse_uri(url), subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None
        )
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    @classmethod
    async def open(cls, server: str) -> "BareClient":
        host, port = server.removeprefix("http://").split(":")
        bare = socket.socket()
        bare.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # little room unread
        bare.connect((host, int(port)))
        bare.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=bare, limit=4096)
        return cls(reader, writer, server.replace("http://", "ws://") + "/graphql")

    def send(self, message: dict) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self._flush()

    @classmethod
    async def connected(cls, server: str, token: str) -> "BareClient":
        """Signed in: the handshake answered and `connection_init` acknowledged."""
        client = await cls.open(server)
        while client.protocol.state is not State.OPEN:
            assert await client._read() is not None, "closed during the handshake"
        client.send({"type": "connection_init", "payload": {"token": token}})
        assert (await client.messages(1))[0]["type"] == "connection_ack"
        return client

    async def messages(self, count: int | None = None) -> list[dict]:
        """The next ``count`` protocol messages, or all until the server closes."""
        received: list[dict] = []
        while count is None or len(received) < count:
            more = await self._read()
            if more is None:
                break
            received += more
        return received

    async def _read(self) -> list[dict] | None:
        """The messages in what arrives next; None at the end of the connection."""
        data = await self._reader.read(65536)
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        texts = [
            json.loads(event.data)
            for event in self.protocol.events_received()
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT
        ]
        self._flush()
        return texts if data else None

    def _flush(self) -> None:
        self._writer.write(b"".join(self.protocol.data_to_send()))


@pytest.mark.parametrize("reader", [False, True], ids=["alone", "behind-a-reader"])
async def test_a_subscriber_that_does_not_read_is_closed_and_replays_what_it_missed(
    api: Api, mailbox: Mailbox, small_backlog: str, reader: bool
):
    """Alone, the slow subscriber answers its events itself; behind a reader of its group
    (subscribed first, so answering for it), it is sent the group's answers. Either way it
    is closed (4413) and replays, and the reader is not held up."""
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    for _ in range(30):  # every event carries them: a few events fill the socket's buffers
        answer = {"input": {"requestId": request["id"], "text": "ї" * 2000}}
        assert "errors" not in await api.post(ADD_COMMENT, answer, token=token)
    readers = contextlib.AsyncExitStack()
    fast = (
        await readers.enter_async_context(
            subscribed(small_backlog, token, HEAVY, max_queue=None, max_size=None)
        )
        if reader
        else None
    )
    open_before = subscriptions_open()
    written = direct_events()
    before = now().isoformat()
    slow = await BareClient.connected(small_backlog, token)
    slow.send({"id": "s", "type": "subscribe", "payload": {"query": HEAVY}})
    while subscriptions_open() == open_before:  # noqa: ASYNC110 - the server's own count
        await asyncio.sleep(0.01)

    changes: list[str] = []
    while subscriptions_open() > open_before and len(changes) < 200:
        status = ("IN_PROGRESS", "NEEDS_INFO")[len(changes) % 2]
        variables = {"input": {"requestId": request["id"], "status": status}}
        answer = await api.data(CHANGE_STATUS, variables, token=operator)
        assert answer["changeRequestStatus"]["status"] == status
        changes.append(status)
    assert subscriptions_open() == open_before  # the server gave up on it
    # Behind a reader, it was written past its task until its socket backed up.
    assert (direct_events() > written) == reader
    received = await slow.messages()

    assert slow.protocol.close_rcvd is not None
    assert slow.protocol.close_rcvd.code == SUBSCRIBER_TOO_SLOW
    assert slow.protocol.close_rcvd.reason == translate("ws.too_slow", Locale.UK)
    assert {(m["id"], m["type"]) for m in received} == {("s", "next")}
    live = [m["payload"]["data"]["requestUpdated"] for m in received]
    assert len(changes) - len(live) > 0  # some never went out live
    last_seen = live[-1]["at"] if live else before
    async with subscribed(small_backlog, token, SINCE, {"since": last_seen}) as again:
        replayed = [
            (await next_message(again))["payload"]["data"]["requestUpdated"]
            for _ in range(len(changes) - len(live))
        ]
        assert await nothing_within(again, 0.5)
    assert [event["status"] for event in replayed] == changes[len(live) :]
    if fast is not None:
        read = [(await next_message(fast))["payload"]["data"]["requestUpdated"] for _ in changes]
        assert await nothing_within(fast, 0.5)
        assert [event["at"] for event in read[: len(live)]] == [event["at"] for event in live]
    await readers.aclose()


STATUS = "subscription { requestUpdated { at status } }"


async def until_quiet(ws: websockets.ClientConnection) -> list[dict]:
    """The messages that arrive until none has for half a second."""
    received = []
    with contextlib.suppress(TimeoutError):
        while True:
            received.append(await next_message(ws, 0.5))
    return received


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_no_event_follows_a_completed_subscription(
    api: Api, mailbox: Mailbox, server: str, protocol: str
):
    """A subscriber of a group that completes while events keep coming is written nothing
    once its operation is over (graphql-ws: after the server's `complete`; the other: no
    event made after the server dropped it), while the rest of its group gets every event,
    in order."""
    olena = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, olena)
    statuses = ["IN_PROGRESS", "NEEDS_INFO"] * 3
    async with (
        subscribed(server, olena, STATUS) as lead,
        subscribed(server, olena, STATUS, operation_id="f", protocol=protocol) as leaving,
    ):
        open_before = subscriptions_open()

        async def changes() -> None:
            for status in statuses:
                await change_status(api, operator, request, status)

        changing = asyncio.create_task(changes())
        received = [await next_message(leaving)]
        stop = "stop" if protocol == "graphql-ws" else "complete"
        await leaving.send(json.dumps({"id": "f", "type": stop}))
        if protocol == "graphql-ws":  # its `complete` says the operation is over
            while (message := await next_message(leaving))["type"] != "complete":
                received.append(message)
        else:  # over once the server no longer counts it
            while subscriptions_open() == open_before:  # noqa: ASYNC110 - the server's count
                await asyncio.sleep(0.01)
        await changing
        await change_status(api, operator, request, "IN_PROGRESS")
        got = [await next_message(lead) for _ in range(len(statuses) + 1)]
        after = await until_quiet(leaving)

    assert [m["payload"]["data"]["requestUpdated"]["status"] for m in got] == [
        *statuses,
        "IN_PROGRESS",
    ]
    if protocol == "graphql-ws":
        assert after == []
    else:  # what was on its way before the server dropped it may still arrive
        received += after
    assert {(m["id"], m["type"]) for m in received} == {
        ("f", "next" if stop == "complete" else "data")
    }
    seen = [m["payload"]["data"]["requestUpdated"]["status"] for m in received]
    assert seen == statuses[: len(seen)]  # in order, and none made after it was over


async def test_events_made_while_subscribing_arrive_once_and_in_order(
    api: Api, mailbox: Mailbox, server: str
):
    """Changes made while two subscribers of one group replay (`since`) and go live reach
    each once, in order, whether replayed, sent by its task or written past it."""
    olena = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    since = {"since": now().isoformat()}
    request = await callback(api, olena)
    await change_status(api, operator, request, "IN_PROGRESS")
    statuses = ["NEEDS_INFO", "IN_PROGRESS"] * 4

    async def changes() -> None:
        for status in statuses:
            await change_status(api, operator, request, status)

    changing = asyncio.create_task(changes())
    async with (
        subscribed(server, olena, SINCE, since) as first,
        subscribed(server, olena, SINCE, since, operation_id="t") as second,
    ):
        await changing
        await change_status(api, operator, request, "NEEDS_INFO")
        expected = ["SUBMITTED", "IN_PROGRESS", *statuses, "NEEDS_INFO"]
        got = [[await next_message(ws) for _ in expected] for ws in (first, second)]
        assert await nothing_within(first, 0.5)
        assert await nothing_within(second, 0.5)

    for messages in got:
        events = [m["payload"]["data"]["requestUpdated"] for m in messages]
        assert [event["status"] for event in events] == expected
        assert [event["at"] for event in events] == sorted({event["at"] for event in events})


async def test_a_compressed_connection_gets_its_groups_answers_through_its_task(
    api: Api, mailbox: Mailbox, settings: Settings, database: Database
):
    """A server that negotiates permessage-deflate (not as `kabinet serve` runs) has no
    frames to write past the tasks (kabinet.wire): each subscriber's task sends."""
    instance, task, port = await serve_on_loopback(
        create_app(settings, database=database), ws_per_message_deflate=True
    )
    compressing = f"http://127.0.0.1:{port}"
    try:
        olena = await customer(api, mailbox)
        async with (
            subscribed(compressing, olena, STATUS) as first,
            subscribed(compressing, olena, STATUS, operation_id="t") as second,
        ):
            written = direct_events()
            await callback(api, olena)
            got = [await next_message(ws) for ws in (first, second)]
            assert direct_events() == written
    finally:
        instance.should_exit = True
        await task

    assert [m["id"] for m in got] == ["s", "t"]
    assert got[0]["payload"] == got[1]["payload"]
    assert got[0]["payload"]["data"]["requestUpdated"]["status"] == "SUBMITTED"
