"""Subscriptions over graphql-transport-ws, as a client holds them open."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websockets

from tests.operations import REQUEST_QUEUE_UPDATED, REQUEST_UPDATED
from tests.support import eventually

UPDATED = REQUEST_UPDATED
QUEUE = REQUEST_QUEUE_UPDATED


async def running_subscriptions(server: str) -> float:
    """The server's `kabinet_subscriptions`: subscriptions listening to its event broker
    (every app of that process: in the test process, every in-process server)."""
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        text = (await http.get("/metrics")).text
    (value,) = (line.split()[1] for line in text.splitlines() if line.startswith(GAUGE))
    return float(value)


GAUGE = "kabinet_subscriptions "


async def one_more_subscription(server: str, before: float) -> None:
    """Wait until the server counts one more subscription than ``before`` (read before
    subscribing) and than any lower count seen meanwhile, as others may end."""
    lowest = before

    async def risen() -> bool:
        nonlocal lowest
        running = await running_subscriptions(server)
        lowest = min(lowest, running)
        return running > lowest

    await eventually(risen)


async def subscriptions_back_to(server: str, count: float) -> None:
    """Wait until the server's subscriptions are down to ``count``, so that none of ours
    ends while a later block counts (a server that has stopped has none)."""

    async def ended() -> bool:
        try:
            return await running_subscriptions(server) <= count
        except httpx.TransportError:
            return True

    await eventually(ended)


@asynccontextmanager
async def subscribed(
    server: str,
    token: str | None,
    query: str,
    variables: dict | None = None,
    *,
    refused: bool = False,
    operation_name: str | None = None,
    operation_id: str = "s",
    protocol: str = "graphql-transport-ws",
    **connect: Any,
) -> AsyncIterator[websockets.ClientConnection]:
    """A socket with one subscription, yielded once the server is listening for it; one
    the server is to refuse is yielded at once (its answer is what the test waits for).
    ``protocol`` may be the legacy `graphql-ws` (whose subscribe is `start`); ``connect``
    goes to `websockets.connect`."""
    url = server.replace("http://", "ws://") + "/graphql"
    before = await running_subscriptions(server)
    async with websockets.connect(url, subprotocols=[protocol], **connect) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"token": token} if token else {}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": query, "variables": variables or {}}
        if operation_name:
            payload["operationName"] = operation_name
        subscribe = "start" if protocol == "graphql-ws" else "subscribe"
        await ws.send(json.dumps({"id": operation_id, "type": subscribe, "payload": payload}))
        if not refused:
            await one_more_subscription(server, before)
        yield ws
    await subscriptions_back_to(server, before)


# graphql-transport-ws `ping`, graphql-ws `ka`.
KEEP_ALIVES = {"ping", "ka"}


async def next_message(ws: websockets.ClientConnection, seconds: float = 5) -> dict:
    async with asyncio.timeout(seconds):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] not in KEEP_ALIVES:
                return message


async def nothing_within(ws: websockets.ClientConnection, seconds: float) -> bool:
    try:
        await next_message(ws, seconds)
    except TimeoutError:
        return True
    return False
