"""Delivery latency of request-status events to 1, 100 and 1,000 subscribers.

Starts `kabinet serve` (embedded database) in a subprocess, loads the demo data,
opens N WebSocket subscriptions to `requestQueueUpdated` from this process, makes
status changes over HTTP and measures, for every subscriber, the time from sending
the change to receiving its event. Also reads the server's resident memory idle
and with the subscriptions open. Writes bench/results.json and prints a table.

    .venv/bin/python bench/subscriptions.py [--changes 5]

With the embedded database the server's events come from the engine's in-process
change stream (`embedded-watch`).
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).parent.parent
RESULTS = ROOT / "bench" / "results.json"
LOGIN = """mutation($email: String!) {
  login(input: {email: $email, password: "Demo-pass-1"}) { ... on AuthSuccess { token } } }"""
FILE = 'mutation { createRequest(input: {callback: {topic: "bench"}}) { ... on Request { id } } }'
CHANGE = """mutation($id: ID!, $status: RequestStatus!) {
  changeRequestStatus(input: {requestId: $id, status: $status}) { __typename } }"""
QUEUE = "subscription { requestQueueUpdated { at request { status } } }"
CYCLE = ["IN_PROGRESS", "NEEDS_INFO"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.asynccontextmanager
async def server() -> AsyncIterator[tuple[str, int]]:
    port, db_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KABINET_")},
            "KABINET_PORT": str(port),
            "KABINET_DATA_DIR": data,
            "KABINET_EMBEDDED_PORT": str(db_port),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kabinet.cli",
            "serve",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base) as http:
                for _ in range(300):
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
            seed = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "kabinet.cli",
                "seed-demo",
                env={
                    **env,
                    "KABINET_MONGODB_URI": f"mongodb://127.0.0.1:{db_port}/?directConnection=true",
                },
                stdout=asyncio.subprocess.DEVNULL,
            )
            await seed.wait()
            yield base, process.pid
        finally:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), 30)


async def gql(
    http: httpx.AsyncClient, query: str, token: str | None = None, **variables: object
) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    return response.json()["data"]


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


async def measure(base: str, pid: int, subscribers: int, changes: int) -> dict:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        customer = (await gql(http, LOGIN, email="demo@example.com"))["login"]["token"]
        operator = (await gql(http, LOGIN, email="operator@example.com"))["login"]["token"]
        request_id = (await gql(http, FILE, customer))["createRequest"]["id"]
        await asyncio.sleep(1.5)  # the filing's event has gone out before anyone listens
        url = base.replace("http://", "ws://") + "/graphql"
        arrivals: list[list[tuple[str, float]]] = [[] for _ in range(subscribers)]
        readies = [asyncio.Event() for _ in range(subscribers)]
        tasks = [
            asyncio.create_task(subscriber(url, operator, readies[i], arrivals[i]))
            for i in range(subscribers)
        ]
        await asyncio.gather(*(ready.wait() for ready in readies))
        await asyncio.sleep(1.0)  # let the server register every subscription
        memory = rss_mib(pid)
        latencies: list[float] = []
        for n in range(changes):
            status = CYCLE[n % 2]
            sent = time.perf_counter()
            await gql(http, CHANGE, operator, id=request_id, status=status)
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
    latencies.sort()
    expected = subscribers * changes
    return {
        "subscribers": subscribers,
        "events_expected": expected,
        "events_received": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1)
        if latencies
        else None,
        "server_rss_mib": round(memory, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=5, help="status changes per size")
    arguments = parser.parse_args()
    async with server() as (base, pid):
        idle = rss_mib(pid)
        rows = [await measure(base, pid, n, arguments.changes) for n in (1, 100, 1000)]
    result = {
        "benchmark": "subscription delivery latency (requestQueueUpdated), embedded-watch",
        "server_rss_idle_mib": round(idle, 1),
        "rows": rows,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"events source: embedded-watch; server RSS idle {idle:.1f} MiB")
    print(f"{'subscribers':>11} {'received':>12} {'p50 ms':>8} {'p99 ms':>8} {'RSS MiB':>8}")
    for row in rows:
        received = f"{row['events_received']}/{row['events_expected']}"
        print(
            f"{row['subscribers']:>11} {received:>12} {row['p50_ms']!s:>8} "
            f"{row['p99_ms']!s:>8} {row['server_rss_mib']:>8}"
        )


if __name__ == "__main__":
    asyncio.run(main())
