"""The ASGI application: routes, middleware and the lifespan that owns the database."""

import asyncio
import contextlib
import functools
import hmac
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from kabinet import collector, metrics
from kabinet.auth.sessions import bearer_token
from kabinet.cards import card_routes
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents.search_keys import KeyedCards
from kabinet.events import EventSource, choose_source
from kabinet.logs import configure_logging
from kabinet.middleware import (
    BodySizeLimitMiddleware,
    BodyTimeoutMiddleware,
    SecurityHeadersMiddleware,
)
from kabinet.observe import ObserveMiddleware
from kabinet.pages import account_page
from kabinet.resolvers import files, guardians, notifications, policies, privacy
from kabinet.resolvers.requests import due
from kabinet.schema.streams import EventStreams
from kabinet.schema.view import KabinetGraphQL
from kabinet.services import Services
from kabinet.wire import FramesMiddleware

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
BACKLOG_TIMEOUT_SECONDS = 1.0
# What a browser frontend on an allowed origin may send (besides the safelisted ones):
# the session, JSON, the CSRF proofs, its own request id for the logs.
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "GraphQL-Require-Preflight",
    "X-Apollo-Operation-Name",
    "X-Request-ID",
    "X-GraphQL-Event-Stream-Token",
]


@dataclass(frozen=True, slots=True)
class Events:
    """The running source of request events."""

    source: EventSource
    task: asyncio.Task[None]

    @property
    def flowing(self) -> bool:
        return not self.task.done() and self.source.health.flowing


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    tune_collector: bool = False,
) -> Starlette:
    """Build the application; ``database`` lets tests share one already connected.
    ``tune_collector`` is for a process that serves this app alone (`kabinet.collector`)."""
    settings = settings or Settings()
    owns_database = database is None
    db = database or Database(settings)
    services = Services.of(settings, db)
    outbox = services.outbox
    graphql = KabinetGraphQL(services)

    @contextlib.asynccontextmanager
    async def lifespan(application: Starlette) -> AsyncIterator[None]:
        if owns_database:
            await db.connect()
            await db.warn_if_outgrown()
        await services.links.load()
        link_key = asyncio.create_task(services.links.keep_loading(), name="link-key")
        sender = asyncio.create_task(outbox.run(), name="outbox-sender")
        eraser = asyncio.create_task(privacy.keep_erasing(db), name="deletions")
        announcer = asyncio.create_task(
            notifications.keep_announcing(services), name="announcements"
        )
        sweeper = asyncio.create_task(
            files.keep_sweeping(settings.orphan_file_grace), name="orphan-files"
        )
        overdue = asyncio.create_task(
            due.keep_announcing_overdue(settings), name="overdue-announcements"
        )
        guardian = asyncio.create_task(
            guardians.keep_announcing_endings(services), name="guardian-endings"
        )
        keys = asyncio.create_task(_fill_search_keys(services.keyed_cards), name="search-keys")
        dues = asyncio.create_task(_fill_due_times(settings), name="due-times")
        source = choose_source(
            await db.client.admin.command("hello"),
            settings.events_poll_seconds,
            db.embedded_requests,
        )
        logger.info("request status events come from: %s", source.name)
        # Opened before serving: a subscriber's replay cannot end before the stream begins.
        await source.start()
        listener = asyncio.create_task(source.run(services.events), name="request-events")
        application.state.events = Events(source, listener)
        sessions = asyncio.create_task(services.sockets.keep_checking(), name="socket-sessions")
        for variable, value in (
            ("KABINET_SMTP_HOST", settings.smtp_host),
            ("KABINET_SMS_GATEWAY_URL", settings.sms_gateway_url),
        ):
            if not value:
                logger.warning(
                    "%s is not set: %s",
                    variable,
                    "messages wait in the outbox until it is"
                    if settings.production
                    else "messages are written to this log",
                )
        if tune_collector:
            collector.tune_for_serving()
        try:
            yield
        finally:
            for task in (
                link_key,
                sender,
                eraser,
                announcer,
                sweeper,
                overdue,
                guardian,
                keys,
                dues,
                listener,
                sessions,
            ):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            services.passwords.close()
            if owns_database:
                await db.close()

    download = functools.partial(files.download_response, settings=settings, links=services.links)

    async def metrics_page(request: Request) -> Response:
        """Prometheus text format; with `KABINET_METRICS_TOKEN`, for its bearer only."""
        expected = settings.metrics_token
        given = bearer_token(request.headers.get("authorization"))
        if expected and not (given and hmac.compare_digest(given.encode(), expected.encode())):
            return PlainTextResponse("Unauthorized.", 401, {"WWW-Authenticate": "Bearer"})
        # The metrics matter most when the database does not answer: then the backlog
        # keeps its last value and the rest is served anyway.
        with contextlib.suppress(Exception):
            backlog = await asyncio.wait_for(outbox.backlog(), BACKLOG_TIMEOUT_SECONDS)
            for channel, waiting in backlog.items():
                metrics.OUTBOX_BACKLOG.labels(channel.value).set(waiting)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """Ready when the database answers and request events flow (see SourceHealth)."""
        database = await db.ping()
        events: Events = request.app.state.events
        flowing = events.flowing  # the source's task ended only if something is badly wrong
        ready = database and flowing
        health = events.source.health.as_json()
        body = {
            "status": "ok" if ready else "unavailable",
            "database": database,
            "events": {"source": events.source.name, **health, "flowing": flowing},
        }
        return JSONResponse(body, 200 if ready else 503)

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route(
                "/graphql/stream",
                EventStreams(graphql.schema, services, graphql.trusted).respond,
                methods=["GET", "POST", "PUT", "DELETE"],
            ),
            WebSocketRoute("/graphql", graphql),
            Route("/confirm-email", account_page("confirm")),
            Route("/reset-password", account_page("reset")),
            Route("/files/{file_id}", download),
            *card_routes(services),
            Route("/metrics", metrics_page),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        lifespan=lifespan,
    )
    # Innermost first: the body limits (time, size) see the request before any route
    # reads it; the request id, access log, HTTP metrics and last-resort 500 cover
    # everything inside; the security headers (outermost) reach every response, refusals
    # and 500s too.
    app.add_middleware(
        BodyTimeoutMiddleware,
        timeout=settings.body_timeout_seconds,
        min_rate=settings.body_min_bytes_per_second,
    )
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.origins,
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=["X-Request-ID"],
        max_age=600,
    )
    app.add_middleware(ObserveMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, https=settings.public_url.startswith("https:"))
    # Outermost: it finds the WebSocket's connection behind the `send` uvicorn hands over.
    app.add_middleware(FramesMiddleware)
    app.state.services = services
    app.state.database = db
    return app


async def _fill_due_times(settings: Settings) -> None:
    """Once at start, like the search keys."""
    try:
        filled = await due.fill_missing_due_times(settings)
    except Exception:  # the server serves on; those requests have no due time yet
        logger.exception("writing the due times of older requests failed")
        return
    if filled:
        logger.info("due times written for %d requests filed before they existed", filled)


async def _fill_search_keys(keyed_cards: KeyedCards) -> None:
    """Once at start; the next start finishes what a failure here left."""
    try:
        keyed = await policies.fill_outdated_search_keys()
    except Exception:  # the server serves on; those cards are not found by search yet
        logger.exception("writing the search keys of older cards failed")
        return
    keyed_cards.current = True
    if keyed:
        logger.info("search keys written for %d cards keyed by an earlier scheme", keyed)


def serve_app() -> Starlette:
    """What `kabinet serve` runs: the app, with the logs configured in the serving process
    (which, with --reload, is not the one that read the command line)."""
    settings = Settings()
    configure_logging(settings)
    return create_app(settings, tune_collector=True)
