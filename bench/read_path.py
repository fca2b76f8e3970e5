"""Read path: `me` through /graphql against the floor, in interleaved rounds.

`python -m bench.read_apart` runs it alone with the database in a process of its own
(issue 14's "API's own cost").
"""

import statistics
from dataclasses import dataclass, field

from bench.app import FLOOR_PATH
from bench.client import BenchError, Client
from bench.floor import PAGE, READ_QUERY
from bench.load import drive
from bench.seed import READER
from bench.server import Server
from bench.stats import Run

WARM_UP = 50


@dataclass(frozen=True, slots=True)
class ReadResult:
    kabinet: Run
    floor: Run
    # kabinet's server CPU per read over the floor's, round by round: the machine's speed
    # drifts over minutes, and a round's two sides run within seconds of each other.
    round_ratios: list[float] = field(default_factory=list)

    @property
    def median_round_ratio(self) -> float:
        return statistics.median(self.round_ratios)


async def read_path(server: Server, *, total: int, rounds: int, concurrency: int) -> ReadResult:
    """``total`` reads each way at ``concurrency``, in ``rounds`` alternating rounds, so a
    change of the machine's load during the run weighs on both sides alike."""
    async with Client(server.base_url, concurrency) as client:
        token = await client.login(READER)

        async def kabinet(_: int) -> object:
            return await client.graphql(READ_QUERY, token)

        async def floor(_: int) -> object:
            return await client.get_json(FLOOR_PATH, token)

        answer = {"data": await kabinet(0)}
        if answer != await floor(0):
            raise BenchError(f"the floor answers differently: {answer} / {await floor(0)}")
        if len(answer["data"]["me"]["requests"]["edges"]) != PAGE:
            raise BenchError(f"the reader should have at least {PAGE} requests: {answer}")
        sides = {"kabinet": kabinet, "floor": floor}
        runs = {name: Run([], 0.0, 0.0, 0.0) for name in sides}
        round_ratios = []
        for operation in sides.values():
            await drive(operation, total=WARM_UP, concurrency=concurrency)
        for round_ in range(rounds):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            this_round = {}
            for name in order:
                this_round[name] = await server.measure(
                    drive(sides[name], total=total // rounds, concurrency=concurrency)
                )
                runs[name] += this_round[name]
            round_ratios.append(
                this_round["kabinet"].server_cpu_ms / this_round["floor"].server_cpu_ms
            )
    return ReadResult(kabinet=runs["kabinet"], floor=runs["floor"], round_ratios=round_ratios)
