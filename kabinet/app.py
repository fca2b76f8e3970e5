"""The ASGI application: routes, middleware and the lifespan that owns the database."""

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kabinet.auth import rate_limit
from kabinet.auth.sessions import bearer_token, resolve_session
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.events import Broker, choose_source
from kabinet.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from kabinet.notify.outbox import Outbox
from kabinet.resolvers import files, privacy
from kabinet.schema.ids import object_id
from kabinet.schema.view import KabinetGraphQL
from kabinet.services import Services

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# What a browser frontend on an allowed origin may send (besides the safelisted ones):
# the session, JSON, the CSRF proofs, its own request id for the logs.
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "GraphQL-Require-Preflight",
    "X-Apollo-Operation-Name",
    "X-Request-ID",
]


class RequestIdMiddleware:
    """One id per HTTP request or WebSocket connection, echoed in `X-Request-ID`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    """Build the application; ``database`` lets tests share one already connected."""
    settings = settings or Settings()
    rate_limit.configure(settings.rate_limits)
    outbox = Outbox(settings)
    services = Services(settings=settings, outbox=outbox, events=Broker())
    owns_database = database is None
    db = database or Database(settings)
    graphql = KabinetGraphQL(services)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if owns_database:
            await db.connect()
        await privacy.finish_deletions()
        sender = asyncio.create_task(outbox.run(), name="outbox-sender")
        source = choose_source(
            await db.client.admin.command("hello"),
            settings.events_poll_seconds,
            db.embedded_requests,
        )
        logger.info("request status events come from: %s", source.name)
        listener = asyncio.create_task(source.run(services.events), name="request-events")
        if not settings.smtp_host:
            logger.warning("KABINET_SMTP_HOST is not set: emails are written to this log")
        try:
            yield
        finally:
            for task in (sender, listener):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if owns_database:
                await db.close()

    async def account_page(_: Request) -> Response:
        """The pages behind the emailed links, so a local cabinet can be tried end to end."""
        return FileResponse(STATIC_DIR / "account.html")

    async def download(request: Request) -> Response:
        """A request's file, for its owner and staff, with `Authorization: Bearer`."""
        token = bearer_token(request.headers.get("authorization"))
        resolved = await resolve_session(token, ttl=settings.session_ttl)
        if resolved is None:
            return PlainTextResponse("Sign in first.", 401, {"WWW-Authenticate": "Bearer"})
        file_id = object_id(request.path_params["file_id"])
        found = await files.download(user=resolved[1], file_id=file_id) if file_id else None
        if found is None:
            return PlainTextResponse("Not found.", 404)
        return Response(
            found.content,
            media_type=found.content_type,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        ready = await db.ping()
        return JSONResponse({"status": "ok" if ready else "unavailable"}, 200 if ready else 503)

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/confirm-email", account_page),
            Route("/reset-password", account_page),
            Route("/files/{file_id}", download),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        lifespan=lifespan,
    )
    # Innermost first: the body limit sees the request before any route reads it;
    # the security headers and the request id reach every response, refusals too.
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.origins,
        allow_methods=["GET", "POST"],
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=["X-Request-ID"],
        max_age=600,
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, https=settings.public_url.startswith("https:"))
    app.state.services = services
    app.state.database = db
    return app
