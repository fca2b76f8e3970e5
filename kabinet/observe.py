"""The ASGI middleware every HTTP request and WebSocket passes first: it gives each a
request id (the client's `X-Request-ID` if sane, else a new one), which the logs
carry, records the access log line and the HTTP metrics, and answers an exception
nothing else caught with a masked JSON 500."""

import logging
import re
import time

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kabinet import logs, metrics
from kabinet.i18n import negotiate_locale
from kabinet.schema.masking import masked

logger = logging.getLogger(__name__)
access_log = logging.getLogger("kabinet.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def unexpected_error(scope: Scope) -> Response:
    request_id = scope["state"]["request_id"]
    locale = negotiate_locale(Headers(scope=scope).get("accept-language"))
    message, extensions = masked(locale, request_id)
    return JSONResponse(
        {"errors": [{"message": message, "extensions": extensions}]}, status_code=500
    )


class ObserveMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else logs.new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        logs.request_id.set(request_id)
        if scope["type"] == "websocket":
            with metrics.WEBSOCKETS.track_inprogress():
                await self.app(scope, receive, send)
            return
        await self._http(scope, receive, send, request_id)

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        started = time.perf_counter()
        status = 500  # if the app fails before it answers

        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Masked like a GraphQL error, with the id the log line carries; Starlette's
            # own handler would answer a bare text 500 past our middleware.
            logger.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if answered:
                raise
            await unexpected_error(scope).__call__(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = metrics.route_of(scope["path"])
            method = metrics.method_of(scope["method"])
            metrics.labelled(metrics.HTTP_REQUESTS, method, route, str(status)).inc()
            metrics.labelled(metrics.HTTP_SECONDS, route).observe(elapsed)
            # The path only: query strings of the emailed links carry tokens.
            access_log.info(
                "%s %s %d %.1f ms", scope["method"], scope["path"], status, elapsed * 1000
            )
