"""Live status: delivery latency of request-status events to 1, 100 and 1,000 subscribers.

Opens N WebSocket subscriptions to `requestQueueUpdated` (graphql-transport-ws) as
the operator, makes status changes over HTTP and measures, for every subscriber, the
time from sending the change to receiving its event; reads the server's resident
memory and its CPU time per second while the N subscriptions are open and idle. With the embedded database the server's events
come from the engine's in-process change stream (`embedded-watch`).
"""

import asyncio
import json
import time
from dataclasses import dataclass

import websockets

from bench.client import Client, expect
from bench.seed import OPERATOR, WRITER
from bench.server import Server
from bench.stats import Latencies
from bench.write_path import CREATE

QUEUE = "subscription { requestQueueUpdated { at request { status } } }"
CHANGE = """mutation Change($id: ID!, $status: RequestStatus!) {
  changeRequestStatus(input: {requestId: $id, status: $status}) { __typename }
}"""  # every answer must be a Request: a refused change would announce nothing
CYCLE = ["IN_PROGRESS", "NEEDS_INFO"]  # SUBMITTED -> IN_PROGRESS -> NEEDS_INFO -> ...


@dataclass(frozen=True, slots=True)
class Delivery(Latencies):
    subscribers: int
    expected: int
    latencies: list[float]
    server_rss_mib: float
    idle_cpu_ms_per_s: float  # server CPU while the subscriptions are open and quiet

    def as_json(self) -> dict[str, object]:
        return {
            "subscribers": self.subscribers,
            "events_expected": self.expected,
            "events_received": len(self.latencies),
            "p50_ms": round(self.p50_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "server_rss_mib": round(self.server_rss_mib, 1),
            "server_cpu_ms_per_s_idle": round(self.idle_cpu_ms_per_s, 1),
        }


async def subscriber(
    url: str, token: str, ready: asyncio.Event, arrivals: list[tuple[str, float]]
) -> None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        await ws.recv()
        await ws.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": QUEUE}}))
        ready.set()
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "next":
                status = message["payload"]["data"]["requestQueueUpdated"]["request"]["status"]
                arrivals.append((status, time.perf_counter()))


async def _delivery(
    client: Client,
    server: Server,
    customer: str,
    operator: str,
    size: int,
    changes: int,
    idle_seconds: float,
) -> Delivery:
    """A new request (SUBMITTED, so the status cycle is valid), ``size`` subscribers idle
    for ``idle_seconds``, then ``changes`` status changes."""
    filed = expect(await client.graphql(CREATE, customer), "createRequest", "Request")
    await asyncio.sleep(1.5)  # the filing's event has gone out before anyone listens
    arrivals: list[list[tuple[str, float]]] = [[] for _ in range(size)]
    readies = [asyncio.Event() for _ in range(size)]
    tasks = [
        asyncio.create_task(subscriber(server.ws_url, operator, readies[i], arrivals[i]))
        for i in range(size)
    ]
    await asyncio.gather(*(ready.wait() for ready in readies))
    await asyncio.sleep(1.0)  # let the server register every subscription
    memory = server.rss_mib()
    idle_cpu = await server.cpu_per_second(idle_seconds)
    latencies: list[float] = []
    for n in range(changes):
        status = CYCLE[n % 2]
        sent = time.perf_counter()
        changed = await client.graphql(CHANGE, operator, id=filed["id"], status=status)
        expect(changed, "changeRequestStatus", "Request")
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and not all(  # noqa: ASYNC110 - polls client lists
            any(s == status and t >= sent for s, t in got) for got in arrivals
        ):
            await asyncio.sleep(0.005)
        for got in arrivals:
            latencies += [t - sent for s, t in got if s == status and t >= sent][:1]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return Delivery(size, size * changes, latencies, memory, idle_cpu)


async def subscriptions(
    server: Server, *, sizes: tuple[int, ...], changes: int, idle_seconds: float
) -> list[Delivery]:
    """For each size, a fresh set of subscribers, ``idle_seconds`` of quiet, and ``changes``
    status changes."""
    async with Client(server.base_url) as client:
        customer = await client.login(WRITER)
        operator = await client.login(OPERATOR)
        return [
            await _delivery(client, server, customer, operator, size, changes, idle_seconds)
            for size in sizes
        ]
