"""`python -m bench.read_apart [--rounds N] [--per-round N]`: the read path alone with the
database in a process of its own, kabinet's server CPU per `me` against the floor's
(issue 14 item 7), in many short interleaved rounds. Prints each side's CPU per read
and the median of the per-round ratios, steadier than the ratio of the totals on a
machine whose speed drifts."""

import argparse
import asyncio

from bench.read_path import read_path
from bench.server import bench_server, database_apart

CONCURRENCY = 4


async def main(rounds: int, per_round: int) -> None:
    async with (
        database_apart() as database_uri,
        bench_server(settings={"KABINET_MONGODB_URI": database_uri}) as server,
    ):
        read = await read_path(
            server, total=rounds * per_round, rounds=rounds, concurrency=CONCURRENCY
        )
    ratios = sorted(read.round_ratios)
    print(f"kabinet  {read.kabinet.server_cpu_ms:6.2f} ms of server CPU per me")
    print(f"floor    {read.floor.server_cpu_ms:6.2f} ms")
    print(
        f"ratio    {read.median_round_ratio:.2f}: the median of {rounds} rounds' ratios "
        f"(quartiles {ratios[len(ratios) // 4]:.2f}, {ratios[3 * len(ratios) // 4]:.2f}); "
        f"of the totals {read.kabinet.server_cpu_ms / read.floor.server_cpu_ms:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--per-round", type=int, default=60)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.per_round))
