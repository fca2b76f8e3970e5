"""Subscriptions over graphql-transport-ws, as a client holds them open."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets

UPDATED = """subscription($id: ID) {
  requestUpdated(requestId: $id) { previousStatus at request { number status } }
}"""
QUEUE = "subscription { requestQueueUpdated { previousStatus request { number status } } }"


@asynccontextmanager
async def subscribed(
    server: str,
    token: str | None,
    query: str,
    variables: dict | None = None,
    *,
    operation_name: str | None = None,
    **connect: Any,
) -> AsyncIterator[websockets.ClientConnection]:
    """A signed-in socket running one subscription; ``connect`` goes to `websockets.connect`."""
    url = server.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], **connect) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"token": token} if token else {}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": query, "variables": variables or {}}
        if operation_name:
            payload["operationName"] = operation_name
        await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": payload}))
        await asyncio.sleep(0.05)  # let the server register the subscription
        yield ws


async def next_message(ws: websockets.ClientConnection, seconds: float = 5) -> dict:
    async with asyncio.timeout(seconds):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] != "ping":
                return message


async def nothing_within(ws: websockets.ClientConnection, seconds: float) -> bool:
    try:
        await next_message(ws, seconds)
    except TimeoutError:
        return True
    return False
