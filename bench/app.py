"""The benchmark's server: kabinet's application, plus the floor at FLOOR_PATH.

Bench-only (`uvicorn bench.app:create_bench_app --factory`, started by bench.server):
the production application never has the floor. Everything but FLOOR_PATH, the
lifespan included, goes to kabinet.app.create_app() untouched, as `kabinet serve` builds
it, so the floor shares kabinet's process, event loop, database connection and the
garbage collector's settings, but none of its middleware.
"""

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bench import floor
from kabinet.app import create_app

FLOOR_PATH = "/floor/me"


class BenchApp:
    def __init__(self, kabinet: ASGIApp, floor_app: ASGIApp) -> None:
        self.kabinet = kabinet
        self.floor = floor_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == FLOOR_PATH:
            await self.floor(scope, receive, send)
        else:
            await self.kabinet(scope, receive, send)


def create_bench_app() -> BenchApp:
    return BenchApp(
        create_app(tune_collector=True), Starlette(routes=[Route(FLOOR_PATH, floor.me)])
    )
