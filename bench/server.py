"""The server under test: bench.app under uvicorn in its own process, seeded by bench.seed
(or serving a data directory the caller prepared)."""

import asyncio
import contextlib
import dataclasses
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.stats import Run

ROOT = Path(__file__).parent.parent
LOG = ROOT / "var" / "bench-server.log"
# The limits a benchmark would hit at once; everything else keeps its production value.
RATE_LIMITS = (
    "requests:account=1000000/1h,login:account=1000000/15m,login:account-ip=1000000/15m,"
    "login:ip=1000000/15m,contact-codes:account=1000000/1h,comments:account=1000000/1h"
)
# Every subscriber is the operator on loopback: one account and one address.
SOCKET_LIMITS = {
    f"KABINET_WS_MAX_{what}_PER_{who}": "100000"
    for what in ("SOCKETS", "SUBSCRIPTIONS")
    for who in ("ACCOUNT", "IP")
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True, slots=True)
class Server:
    base_url: str
    pid: int
    database_uri: str  # its embedded database, for what the bench reads there itself

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/graphql"

    def cpu_seconds(self) -> float:
        """CPU time of the server process so far, all its threads (ended ones too), to the
        nanosecond: its process CPU clock, which Linux lets any process read
        (clock_getcpuclockid(): the clock id of process ``pid`` is ``~pid << 3 | 2``).
        /proc/<pid>/stat counts the same time in ticks of 10 ms, too coarse for one call."""
        return time.clock_gettime(~self.pid << 3 | 2)

    async def measure(self, run: Awaitable[Run]) -> Run:
        """``run``, with the CPU time the server spent meanwhile."""
        before = self.cpu_seconds()
        result = await run
        return dataclasses.replace(result, server_cpu_seconds=self.cpu_seconds() - before)

    async def cpu_per_second(self, seconds: float) -> float:
        """Milliseconds of CPU the server spends per second of wall time over ``seconds``
        of waiting (1000 = one core busy)."""
        before, started = self.cpu_seconds(), time.perf_counter()
        await asyncio.sleep(seconds)
        return (self.cpu_seconds() - before) / (time.perf_counter() - started) * 1000

    def rss_mib(self) -> float:
        """Resident memory of the server process, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for process {self.pid}")


def kabinet_free_environment() -> dict[str, str]:
    """This process's environment without any KABINET_* variable: a child's settings are
    the bench's alone."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KABINET_")}


async def _run(*command: str, env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(sys.executable, *command, cwd=ROOT, env=env)
    if await process.wait():
        raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}")


async def _wait_until_ready(
    base_url: str, process: asyncio.subprocess.Process, seconds: float
) -> None:
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base_url) as http:
        while time.perf_counter() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the server exited with {process.returncode}; see {LOG}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server did not become ready in {seconds:.0f} s")


@contextlib.asynccontextmanager
async def database_apart(ready_seconds: float = 60) -> AsyncIterator[str]:
    """An empty embedded database in a process of its own (bench.database); its URI."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="kabinet-bench-db-") as directory:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.database",
            directory,
            str(port),
            cwd=ROOT,
            env=kabinet_free_environment(),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            async with asyncio.timeout(ready_seconds):
                if (await process.stdout.readline()).strip() != b"ready":
                    raise RuntimeError(f"bench.database exited with {await process.wait()}")
            yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
                await asyncio.wait_for(process.wait(), 60)


@contextlib.asynccontextmanager
async def bench_server(
    data: Path | None = None, settings: dict[str, str] | None = None, ready_seconds: float = 60
) -> AsyncIterator[Server]:
    """One server process (embedded database in a temporary directory) with the bench data;
    or, given ``data``, serving that data directory as it is (ready within
    ``ready_seconds``). ``settings`` are more KABINET_* variables; with KABINET_MONGODB_URI
    among them the server and the seeding use that database instead.

    uvicorn runs with uvloop and httptools, as `kabinet serve` does with a real MongoDB,
    but without an access log,
    which would cost kabinet and the floor alike; the application logs warnings and up,
    to LOG, so that the table is not buried in them.
    """
    port, db_port = free_port(), free_port()
    LOG.parent.mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(LOG.open("wb"))
        directory = data or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="kabinet-bench-"))
        )
        env = {
            **kabinet_free_environment(),
            "KABINET_PORT": str(port),
            "KABINET_DATA_DIR": str(directory),
            "KABINET_EMBEDDED_PORT": str(db_port),
            "KABINET_RATE_LIMITS": RATE_LIMITS,
            **SOCKET_LIMITS,
            **(settings or {}),
        }
        # The server answers before it is seeded: nothing reaches it until bench_server yields.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "bench.app:create_bench_app",
            "--factory",
            "--host=127.0.0.1",
            f"--port={port}",
            "--no-access-log",
            "--ws-per-message-deflate=false",  # as `kabinet serve`
            "--log-level=warning",
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            await _wait_until_ready(base_url, process, ready_seconds)
            uri = env.get("KABINET_MONGODB_URI") or (
                f"mongodb://127.0.0.1:{db_port}/?directConnection=true"
            )
            if data is None:
                await _run("-m", "bench.seed", env={**env, "KABINET_MONGODB_URI": uri})
            yield Server(base_url=base_url, pid=process.pid, database_uri=uri)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
                await asyncio.wait_for(process.wait(), 60)
