"""`make bench`: the whole suite against one server process; a table and bench/results.json.

    .venv/bin/python -m bench [--quick]

One `kabinet` server process (bench.app: the application plus the read path's floor,
embedded database, bench.seed's data) under load from this process on loopback:
memory idle, subscriptions (with memory), the read path, the write path, sign-in.
`--quick` runs every part with small counts, to try the suite out, not to measure.
"""

import argparse
import asyncio
import datetime
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import report
from bench.read_path import read_path
from bench.server import bench_server
from bench.sign_in import sign_in
from bench.subscriptions import subscriptions
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
    subscribers=(1, 100, 1000),
    changes=5,
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
)


async def run(sizes: Sizes) -> tuple[list[report.Row], dict[str, object]]:
    async with bench_server() as server:
        idle_rss = server.rss_mib()
        deliveries = await subscriptions(server, sizes=sizes.subscribers, changes=sizes.changes)
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
    rows = report.rows(
        idle_rss_mib=idle_rss, deliveries=deliveries, read=read, write=write, signin=signin
    )
    details: dict[str, object] = {
        "server_rss_idle_mib": round(idle_rss, 1),
        "subscriptions": [delivery.as_json() for delivery in deliveries],
        "read": {"kabinet": read.kabinet.as_json(), "floor": read.floor.as_json()},
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
    }
    return rows, details


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a try-out, no figures")
    quick = parser.parse_args().quick
    sizes = QUICK if quick else FULL
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.UTC)
    rows, details = asyncio.run(run(sizes))
    seconds = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
    load_after = os.getloadavg()
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }
    results = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(seconds),
        "quick": quick,
        "machine": machine,
        "sizes": asdict(sizes),
        "table": [row.as_json() for row in rows],
        **details,
    }
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(
        f"kabinet bench{' --quick' if quick else ''}, {started:%Y-%m-%d %H:%M} UTC, {seconds:.0f} s;"
        f" {machine['cpus']} CPUs, load average {load_before[0]:.2f} before,"
        f" {load_after[0]:.2f} after"
    )
    print(report.table(rows))
    print(
        f"written: {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}"
    )


if __name__ == "__main__":
    sys.exit(main())
