"""The load generator: a bounded number of operations at a fixed concurrency, each timed."""

import asyncio
import time
from collections.abc import Awaitable, Callable

from bench.stats import Run

type Operation = Callable[[int], Awaitable[object]]


async def drive(
    operation: Operation,
    *,
    total: int,
    concurrency: int,
    interval: float = 0.0,
    stop: asyncio.Event | None = None,
) -> Run:
    """Call ``operation(i)`` for i in 0..total-1 with ``concurrency`` calls in flight.

    ``interval`` paces each worker (at most one start per interval: a latency probe rather
    than a flood); ``stop`` ends the run early, once set. An operation raises on a wrong
    answer, which ends the benchmark: a figure measured on errors would mean nothing.
    """
    indexes = iter(range(total))
    latencies: list[float] = []

    async def worker() -> None:
        for index in indexes:  # shared by the workers: each index is taken once
            if stop is not None and stop.is_set():
                return
            started = time.perf_counter()
            await operation(index)
            finished = time.perf_counter()
            latencies.append(finished - started)
            if interval:
                await asyncio.sleep(max(0.0, started + interval - finished))

    cpu, wall = time.process_time(), time.perf_counter()
    async with asyncio.TaskGroup() as workers:
        for _ in range(concurrency):
            workers.create_task(worker())
    return Run(latencies, time.perf_counter() - wall, time.process_time() - cpu)
