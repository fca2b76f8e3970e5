"""Live status: delivery of request-status events to 1, 100, 1,000 and 5,000 subscribers.

Opens N WebSocket subscriptions (graphql-transport-ws): with 1 or 100 subscribers all are
the operator's queue (`requestQueueUpdated`); from 1,000 up, half are the operator's queue
and half the owner's own requests (`requestUpdated`), so every subscriber receives every
event. Makes status changes over HTTP, one at a time, and measures for every subscriber
the time from sending the change to receiving its event. The subscribers run in client
processes of their own (`python -m bench.subscriptions`, at most `PER_PROCESS` sockets
each unless told otherwise), so that the benchmark's client is not what is measured.

A subscriber closed with 4413 (it fell behind) reconnects with `since`, the `at` of its
last event: "received" counts events received live or replayed, and the closes are
counted. Also reads the server's resident memory and its CPU time per second while the N
subscriptions are open and idle, and its CPU time per event per subscriber while the
events go out.
"""

import asyncio
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass

import websockets

from bench.client import Client, expect
from bench.seed import OPERATOR, WRITER
from bench.server import Server
from bench.stats import Latencies
from bench.write_path import CREATE

QUEUE = """subscription($since: DateTime) {
  requestQueueUpdated(since: $since) { at request { status } }
}"""
OWN = """subscription($since: DateTime) {
  requestUpdated(since: $since) { at request { status } }
}"""
FIELDS = {QUEUE: "requestQueueUpdated", OWN: "requestUpdated"}
CHANGE = """mutation Change($id: ID!, $status: RequestStatus!) {
  changeRequestStatus(input: {requestId: $id, status: $status}) { __typename }
}"""  # every answer must be a Request: a refused change would announce nothing
CYCLE = ["IN_PROGRESS", "NEEDS_INFO"]  # SUBMITTED -> IN_PROGRESS -> NEEDS_INFO -> ...
FELL_BEHIND = 4413  # kabinet.events.sockets.SUBSCRIBER_TOO_SLOW
PER_PROCESS = 1000  # sockets per client process
MIXED_FROM = 1000  # from this many subscribers on, half follow the owner's own requests
WAIT_SECONDS = 30  # for one event to reach everyone, before the next change is made
# Latencies each size is measured on at least: a p99 of five (one subscriber, five
# changes) is their maximum, and the baseline of every ratio swung with it.
MIN_LATENCIES = 100
# Status changes made to one request: more would grow its history, and each event's cost.
CHANGES_PER_REQUEST = 5


@dataclass(frozen=True, slots=True)
class Delivery(Latencies):
    subscribers: int
    client_processes: int
    expected: int
    latencies: list[float]
    closes: int  # sockets closed with 4413, then reconnected with `since`
    server_rss_mib: float
    idle_cpu_ms_per_s: float  # server CPU while the subscriptions are open and quiet
    cpu_ms_per_event: float  # server CPU per event while the events go out

    def as_json(self) -> dict[str, object]:
        return {
            "subscribers": self.subscribers,
            "client_processes": self.client_processes,
            "events_expected": self.expected,
            "events_received": len(self.latencies),
            "closes_4413": self.closes,
            "p50_ms": round(self.p50_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "server_rss_mib": round(self.server_rss_mib, 1),
            "server_cpu_ms_per_s_idle": round(self.idle_cpu_ms_per_s, 1),
            "server_cpu_ms_per_event": round(self.cpu_ms_per_event, 2),
        }


# The client process: `python -m bench.subscriptions URL` with one line of JSON on stdin,
# {"subscribers": [[token, query], ...]}. It prints `ready`, then `reached K` each time every
# one of its sockets has received K events, and at the end (stdin closed) one line of JSON:
# {"arrivals": [[perf_counter of event 1, ...], ...], "closes": N}. perf_counter is the
# system-wide monotonic clock, so the parent compares it with its own.


class Arrivals:
    """Every socket's arrival times, and how many events all of them have received."""

    def __init__(self, sockets: int) -> None:
        self.times: list[list[float]] = [[] for _ in range(sockets)]
        self.closes = 0
        self._holding: Counter[int] = Counter()  # sockets with at least K events, by K

    def arrived(self, socket: int) -> None:
        self.times[socket].append(time.perf_counter())
        count = len(self.times[socket])
        self._holding[count] += 1
        if self._holding[count] == len(self.times):
            print(f"reached {count}", flush=True)


async def _subscriber(
    url: str, token: str, query: str, socket: int, arrivals: Arrivals, ready: asyncio.Event
) -> None:
    since: str | None = None
    field = FIELDS[query]
    while True:
        async with websockets.connect(
            url, subprotocols=["graphql-transport-ws"], max_queue=None
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
            await ws.recv()
            payload = {"query": query, "variables": {"since": since}}
            await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": payload}))
            ready.set()
            try:
                async for raw in ws:
                    message = json.loads(raw)
                    if message.get("type") == "next":
                        since = message["payload"]["data"][field]["at"]
                        arrivals.arrived(socket)
            except websockets.ConnectionClosedError as closed:
                if closed.rcvd is None or closed.rcvd.code != FELL_BEHIND:
                    raise
                arrivals.closes += 1


async def _client_process(url: str) -> None:
    subscribers = json.loads(sys.stdin.readline())["subscribers"]
    arrivals = Arrivals(len(subscribers))
    readies = [asyncio.Event() for _ in subscribers]
    tasks = [
        asyncio.create_task(_subscriber(url, token, query, n, arrivals, readies[n]))
        for n, (token, query) in enumerate(subscribers)
    ]
    await asyncio.gather(*(ready.wait() for ready in readies))
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the parent is done
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"arrivals": arrivals.times, "closes": arrivals.closes}), flush=True)


class ClientProcess:
    """One client process and what it has told so far."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.reached = 0

    @classmethod
    async def start(cls, url: str, subscribers: list[tuple[str, str]]) -> "ClientProcess":
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.subscriptions",
            url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 26,  # the last line holds every arrival time
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps({"subscribers": subscribers}).encode() + b"\n")
        await process.stdin.drain()
        client = cls(process)
        if await client._line() != "ready":
            raise RuntimeError("a client process could not subscribe")
        return client

    async def wait_for(self, events: int) -> None:
        while self.reached < events:
            line = await self._line()
            if not line.startswith("reached "):
                raise RuntimeError(f"a client process said {line!r}")
            self.reached = max(self.reached, int(line.split()[1]))

    async def finish(self) -> tuple[list[list[float]], int]:
        assert self.process.stdin is not None
        self.process.stdin.close()
        while not (line := await self._line()).startswith("{"):
            pass
        await self.process.wait()
        result = json.loads(line)
        return result["arrivals"], result["closes"]

    async def _line(self) -> str:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError("a client process ended early")
        return line.decode().strip()


async def _delivery(
    client: Client,
    server: Server,
    tokens: dict[str, str],
    size: int,
    changes: int,
    idle_seconds: float,
    per_process: int,
) -> Delivery:
    """New requests (SUBMITTED, so the status cycle is valid), ``size`` subscribers idle
    for ``idle_seconds``, then ``changes`` status changes, CHANGES_PER_REQUEST to a
    request, so every size measures events of requests alike."""
    filed = [
        expect(await client.graphql(CREATE, tokens[WRITER]), "createRequest", "Request")
        for _ in range(math.ceil(changes / CHANGES_PER_REQUEST))
    ]
    await asyncio.sleep(1.5)  # the filings' events have gone out before anyone listens
    owners = size // 2 if size >= MIXED_FROM else 0
    subscribers = [(tokens[OPERATOR], QUEUE)] * (size - owners) + [(tokens[WRITER], OWN)] * owners
    processes = math.ceil(size / per_process)
    share = math.ceil(size / processes)
    clients = [
        await ClientProcess.start(server.ws_url, subscribers[start : start + share])
        for start in range(0, size, share)
    ]
    await asyncio.sleep(1.0)  # let the server register every subscription
    memory = server.rss_mib()
    idle_cpu = await server.cpu_per_second(idle_seconds)
    sent: list[float] = []
    cpu_before = server.cpu_seconds()
    for n in range(changes):
        sent.append(time.perf_counter())
        request, nth = divmod(n, CHANGES_PER_REQUEST)
        changed = await client.graphql(
            CHANGE, tokens[OPERATOR], id=filed[request]["id"], status=CYCLE[nth % 2]
        )
        expect(changed, "changeRequestStatus", "Request")
        everyone = asyncio.gather(*(c.wait_for(n + 1) for c in clients))
        try:
            await asyncio.wait_for(everyone, WAIT_SECONDS)
        except TimeoutError:
            break  # counted as not received
    cpu = server.cpu_seconds() - cpu_before
    latencies: list[float] = []
    closes = 0
    for finished in [await c.finish() for c in clients]:
        arrivals, closed = finished
        closes += closed
        for times in arrivals:
            latencies += [arrived - sent[n] for n, arrived in enumerate(times[: len(sent)])]
    return Delivery(
        subscribers=size,
        client_processes=len(clients),
        expected=size * changes,
        latencies=latencies,
        closes=closes,
        server_rss_mib=memory,
        idle_cpu_ms_per_s=idle_cpu,
        cpu_ms_per_event=cpu / len(sent) * 1000,
    )


async def subscriptions(
    server: Server,
    *,
    sizes: tuple[int, ...],
    changes: int,
    idle_seconds: float,
    per_process: int = PER_PROCESS,
) -> list[Delivery]:
    """For each size, a fresh set of subscribers, ``idle_seconds`` of quiet, and ``changes``
    status changes, more where fewer would give under MIN_LATENCIES latencies."""
    async with Client(server.base_url) as client:
        tokens = {email: await client.login(email) for email in (WRITER, OPERATOR)}
        return [
            await _delivery(
                client,
                server,
                tokens,
                size,
                max(changes, math.ceil(MIN_LATENCIES / size)),
                idle_seconds,
                per_process,
            )
            for size in sizes
        ]


if __name__ == "__main__":
    asyncio.run(_client_process(sys.argv[1]))
