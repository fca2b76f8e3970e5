"""The benchmark's read path (`bench.read_path`, `python -m bench.read_apart`) at a tiny
size: kabinet and the floor answer the bench's `me` alike, or the run stops. A try-out
of the code, not a measurement: nothing here is a time."""

import math

from bench.read_path import read_path
from bench.server import bench_server


async def test_the_read_path_compares_equal_answers_round_by_round():
    async with bench_server() as server:
        read = await read_path(server, total=8, rounds=4, concurrency=2)

    assert read.kabinet.count == read.floor.count == 8
    assert len(read.round_ratios) == 4
    assert all(ratio > 0 and math.isfinite(ratio) for ratio in read.round_ratios)
    assert min(read.round_ratios) <= read.median_round_ratio <= max(read.round_ratios)
