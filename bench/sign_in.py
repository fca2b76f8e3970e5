"""Sign-in: login throughput, and the latency of reads idle and while logins run.

Two probes run side by side, each one read at a time at a fixed pace: kabinet's `me`
(READ_QUERY) and the floor. The floor makes no GraphQL and no argon2 of its own, so
when both slow down alike during logins the cause is the machine's CPU (argon2 hashes
in worker threads), not kabinet stalling its event loop.
"""

import asyncio
from dataclasses import dataclass

from bench.app import FLOOR_PATH
from bench.client import Client
from bench.floor import READ_QUERY
from bench.load import drive
from bench.seed import READER, SIGNER
from bench.server import Server
from bench.stats import Run


@dataclass(frozen=True, slots=True)
class Probes:
    me: Run
    floor: Run


@dataclass(frozen=True, slots=True)
class SignInResult:
    logins: Run
    idle: Probes
    during_logins: Probes


async def sign_in(
    server: Server, *, logins: int, concurrency: int, probes: int, interval: float
) -> SignInResult:
    """``logins`` logins at ``concurrency``; each probe once every ``interval`` s,
    ``probes`` times on an otherwise idle server, then for as long as the logins run."""
    async with Client(server.base_url, concurrency + 2) as client:
        token = await client.login(READER)

        async def me(_: int) -> object:
            return await client.graphql(READ_QUERY, token)

        async def floor(_: int) -> object:
            return await client.get_json(FLOOR_PATH, token)

        async def login(_: int) -> object:
            return await client.login(SIGNER)

        async def probe(total: int, stop: asyncio.Event | None = None) -> Probes:
            me_run, floor_run = await asyncio.gather(
                *(
                    drive(read, total=total, concurrency=1, interval=interval, stop=stop)
                    for read in (me, floor)
                )
            )
            return Probes(me=me_run, floor=floor_run)

        idle = await probe(probes)
        done = asyncio.Event()

        async def logins_then_stop() -> Run:
            try:
                return await server.measure(drive(login, total=logins, concurrency=concurrency))
            finally:
                done.set()

        signing_in = asyncio.create_task(logins_then_stop())
        during = await probe(logins * 1000, stop=done)
        return SignInResult(logins=await signing_in, idle=idle, during_logins=during)
