"""`make bench`: the whole suite against one server process; a table and bench/results.json.

    .venv/bin/python -m bench [--quick]

One `kabinet` server process (bench.app: the application plus the read path's floor,
embedded database, bench.seed's data) under load from this process on loopback:
memory idle, subscriptions (with memory), the read path, the write path, sign-in; then
the read path again with the database in a process of its own (bench.database), where
the server's CPU is kabinet's own work and the floor's.
Then the scale section (bench.scale): server CPU per operation on a small and a large
database, each in a server process of its own.
`--quick` runs every part with small counts, to try the suite out, not to measure.
`--only subscriptions` (or `--only scale`) runs that part alone and replaces its figures
in bench/results.json; `--subscribers 1,1000`, `--changes 3` and
`--sockets-per-client-process 250` change the subscriptions' sizes (to compare, not to
record: they are written too).
"""

import argparse
import asyncio
import dataclasses
import datetime
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.read_path import read_path
from bench.scale import ScaleResult, ScaleSizes, scale
from bench.server import Server, bench_server, database_apart
from bench.sign_in import sign_in
from bench.subscriptions import PER_PROCESS, Delivery, subscriptions
from bench.write_path import write_path

RESULTS = Path(__file__).parent / "results.json"


@dataclass(frozen=True, slots=True)
class Sizes:
    read_total: int  # reads each way
    read_rounds: int
    read_concurrency: int
    writes: int
    write_concurrency: int
    logins: int
    login_concurrency: int
    probes: int  # `me` on the idle server
    probe_interval: float
    subscribers: tuple[int, ...]
    changes: int  # status changes per number of subscribers
    idle_seconds: float  # server CPU measured over this long, idle and with subscribers
    scale: ScaleSizes
    sockets_per_client_process: int = PER_PROCESS  # subscribers' sockets per client process


FULL = Sizes(
    read_total=4000,
    read_rounds=8,
    read_concurrency=8,
    writes=600,
    write_concurrency=4,
    logins=100,
    login_concurrency=2,
    probes=150,
    probe_interval=0.1,
    subscribers=(1, 100, 1000, 5000),
    changes=5,
    idle_seconds=10.0,
    scale=ScaleSizes(small=1000, large=10000, unlinked=20000, import_rows=10000, repeats=10),
)
QUICK = Sizes(
    read_total=400,
    read_rounds=2,
    read_concurrency=8,
    writes=40,
    write_concurrency=4,
    logins=8,
    login_concurrency=2,
    probes=20,
    probe_interval=0.1,
    subscribers=(1, 10, 100),
    changes=3,
    idle_seconds=2.0,
    scale=ScaleSizes(small=100, large=300, unlinked=1000, import_rows=1000, repeats=5),
)


@dataclass(frozen=True, slots=True)
class Idle:
    """The server started and seeded, nothing asked yet."""

    rss_mib: float
    cpu_ms_per_s: float

    def as_json(self) -> dict[str, float]:
        return {
            "server_rss_idle_mib": round(self.rss_mib, 1),
            "server_cpu_ms_per_s_idle": round(self.cpu_ms_per_s, 1),
        }


async def _idle(server: Server, sizes: Sizes) -> Idle:
    return Idle(server.rss_mib(), await server.cpu_per_second(sizes.idle_seconds))


async def _subscriptions(
    server: Server, sizes: Sizes, idle: Idle
) -> tuple[list[report.Row], list[Delivery]]:
    deliveries = await subscriptions(
        server,
        sizes=sizes.subscribers,
        changes=sizes.changes,
        idle_seconds=sizes.idle_seconds,
        per_process=sizes.sockets_per_client_process,
    )
    rows = report.subscription_rows(
        deliveries, idle_rss_mib=idle.rss_mib, idle_cpu_ms_per_s=idle.cpu_ms_per_s
    )
    return rows, deliveries


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run prints and records: rows of the one table, figures for results.json, and
    the scale section's own table when it ran."""

    rows: list[report.Row]
    details: dict[str, object]
    scale: ScaleResult | None = None


async def run(sizes: Sizes) -> Outcome:
    async with bench_server() as server:
        idle = await _idle(server, sizes)
        live_rows, deliveries = await _subscriptions(server, sizes, idle)
        read = await read_path(
            server,
            total=sizes.read_total,
            rounds=sizes.read_rounds,
            concurrency=sizes.read_concurrency,
        )
        write = await write_path(server, total=sizes.writes, concurrency=sizes.write_concurrency)
        signin = await sign_in(
            server,
            logins=sizes.logins,
            concurrency=sizes.login_concurrency,
            probes=sizes.probes,
            interval=sizes.probe_interval,
        )
    async with (
        database_apart() as database_uri,
        bench_server(settings={"KABINET_MONGODB_URI": database_uri}) as apart,
    ):
        read_apart = await read_path(
            apart,
            total=sizes.read_total,
            rounds=sizes.read_rounds,
            concurrency=sizes.read_concurrency,
        )
    scaled = await scale(sizes.scale)
    rows = report.rows(live=live_rows, read=read, read_apart=read_apart, write=write, signin=signin)
    details: dict[str, object] = {
        **idle.as_json(),
        "subscriptions": [delivery.as_json() for delivery in deliveries],
        "read": {"kabinet": read.kabinet.as_json(), "floor": read.floor.as_json()},
        "read_database_apart": {
            "kabinet": read_apart.kabinet.as_json(),
            "floor": read_apart.floor.as_json(),
            "median_round_ratio": round(read_apart.median_round_ratio, 2),
        },
        "write": {
            "create_request": write.create.as_json(),
            "change_status": write.change.as_json(),
        },
        "sign_in": {
            "logins": signin.logins.as_json(),
            "idle": {"me": signin.idle.me.as_json(), "floor": signin.idle.floor.as_json()},
            "during_logins": {
                "me": signin.during_logins.me.as_json(),
                "floor": signin.during_logins.floor.as_json(),
            },
        },
        "scale": scaled.as_json(),
    }
    return Outcome(rows, details, scaled)


async def run_subscriptions(sizes: Sizes) -> Outcome:
    """The subscriptions part alone, with the idle figures it is measured against."""
    async with bench_server() as server:
        idle = await _idle(server, sizes)
        rows, deliveries = await _subscriptions(server, sizes, idle)
    return Outcome(
        rows, {**idle.as_json(), "subscriptions": [delivery.as_json() for delivery in deliveries]}
    )


async def run_scale(sizes: Sizes) -> Outcome:
    """The scale section alone: no rows in the one table, a table of its own."""
    scaled = await scale(sizes.scale)
    return Outcome([], {"scale": scaled.as_json()}, scaled)


PARTS = {report.SUBSCRIPTIONS: run_subscriptions, report.SCALE: run_scale}


def merged(
    previous: dict[str, Any], part: str, rows: list[report.Row], details: dict[str, object]
) -> dict[str, Any]:
    """``previous`` results with ``part``'s rows (where its old rows stood) and figures
    replaced by a new run's."""
    old_table: list[dict[str, Any]] = previous["table"]
    ours = [i for i, row in enumerate(old_table) if row.get("part") == part]
    table = [row for row in old_table if row.get("part") != part]
    at = ours[0] if ours else len(table)
    table[at:at] = [row.as_json() for row in rows]
    return {**previous, **details, "table": table}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a try-out, no figures")
    parser.add_argument(
        "--only",
        choices=list(PARTS),
        help="run this part alone and replace its figures in bench/results.json",
    )
    parser.add_argument(
        "--sockets-per-client-process",
        type=int,
        default=PER_PROCESS,
        help=f"subscribers' sockets per client process (default {PER_PROCESS})",
    )
    parser.add_argument(
        "--changes", type=int, help="status changes per number of subscribers (fewer: quicker)"
    )
    parser.add_argument(
        "--subscribers",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        help="numbers of subscribers, e.g. 1,1000 (the first is the others' baseline)",
    )
    arguments = parser.parse_args()
    sizes = dataclasses.replace(
        QUICK if arguments.quick else FULL,
        sockets_per_client_process=arguments.sockets_per_client_process,
    )
    if arguments.changes:
        sizes = dataclasses.replace(sizes, changes=arguments.changes)
    if arguments.subscribers:
        sizes = dataclasses.replace(sizes, subscribers=arguments.subscribers)
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.UTC)
    outcome = asyncio.run(PARTS[arguments.only](sizes) if arguments.only else run(sizes))
    seconds = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
    load_after = os.getloadavg()
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }
    this_run = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(seconds),
        "quick": arguments.quick,
        "machine": machine,
        "sizes": asdict(sizes),
    }
    if arguments.only:
        previous = json.loads(RESULTS.read_text())
        results = merged(previous, arguments.only, outcome.rows, outcome.details)
        results["parts"] = {**previous.get("parts", {}), arguments.only: this_run}
    else:
        results = {**this_run, "table": [row.as_json() for row in outcome.rows], **outcome.details}
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    only = f" --only {arguments.only}" if arguments.only else ""
    print(
        f"kabinet bench{' --quick' if arguments.quick else ''}{only}, "
        f"{started:%Y-%m-%d %H:%M} UTC, {seconds:.0f} s;"
        f" {machine['cpus']} CPUs, load average {load_before[0]:.2f} before,"
        f" {load_after[0]:.2f} after"
    )
    if outcome.rows:
        print(report.table(outcome.rows))
    if outcome.scale:
        print(report.scale_table(outcome.scale))
    print(
        f"written: {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}"
    )


if __name__ == "__main__":
    sys.exit(main())
