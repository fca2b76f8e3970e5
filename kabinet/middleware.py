"""Pure ASGI middleware of the HTTP layer: security headers, the request body's size and
time limits."""

import asyncio
import contextlib

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kabinet.i18n import N_, negotiate_locale, translate
from kabinet.resolvers.files import MAX_FILE_BYTES, MAX_FILES
from kabinet.schema.view import error_response, response_media_type

# GraphiQL (our page, the vendored UMD builds) and the emailed-link pages load only
# their own scripts, styles and fonts and talk to /graphql (HTTP and WebSocket:
# 'self' covers ws: and wss: of the same host). Styles stay 'unsafe-inline':
# GraphiQL's editor and dialogs set style attributes and insert <style> elements.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)
STRICT_TRANSPORT_SECURITY = (b"strict-transport-security", b"max-age=31536000")
# How long a refused connection stays open after its answer, reading and dropping what
# the client still sends, before it is closed (nginx's lingering close).
LINGER_SECONDS = 1.0


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (a header the route set wins);
    HSTS only when the cabinet is served over https."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = SECURITY_HEADERS + ((STRICT_TRANSPORT_SECURITY,) if https else ())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in self.headers if header[0] not in present)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WatchedSend:
    """`send` that remembers whether the response started: after that, a refusal of the
    body can only break the connection."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


class BodyTooLarge(Exception):
    """Raised from `receive` once a streamed body passes its limit."""


class BodySizeLimitMiddleware:
    """Refuses (413) a body over its limit, by Content-Length before reading it, or by
    counting the chunks of a streamed one. Uploads (multipart/form-data) may carry
    MAX_FILES files of MAX_FILE_BYTES plus an ordinary body for the operation and the
    multipart framing; every other body (a GraphQL JSON POST) gets ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = MAX_FILES * MAX_FILE_BYTES + max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        upload = content_type == "multipart/form-data"
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self.refuse(headers, upload, scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        watched = WatchedSend(send)
        try:
            await self.app(scope, counting_receive, watched)
        except BodyTooLarge:
            if watched.started:
                raise
            await self.refuse(headers, upload, scope, receive, send)

    async def refuse(
        self, headers: Headers, upload: bool, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if upload:
            key, params = (
                N_("http.upload_too_large"),
                {
                    "files": MAX_FILES,
                    "megabytes": MAX_FILE_BYTES // (1024 * 1024),
                    "limit": self.max_upload_bytes,
                },
            )
        else:
            key, params = N_("http.body_too_large"), {"limit": self.max_body_bytes}
        await refuse(headers, 413, key, params, scope, receive, send)


class BodyTimedOut(Exception):
    """Raised from `receive` when the rest of a body did not arrive in time."""


class BodyTimeoutMiddleware:
    """Refuses (408, and closes the connection) a body that arrives too slowly: it gets
    ``timeout`` seconds, plus one second for every ``min_rate`` bytes that came, so a
    client trickling a byte now and then cannot hold a connection and a task for ever,
    while a large upload on a slow line still goes through."""

    def __init__(self, app: ASGIApp, *, timeout: float, min_rate: int) -> None:
        self.app = app
        self.timeout = timeout
        self.min_rate = min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = asyncio.get_running_loop().time()
        received = 0
        complete = False

        async def timed_receive() -> Message:
            nonlocal received, complete
            if complete:  # waiting for a disconnect is no body
                return await receive()
            deadline = started + self.timeout + received / self.min_rate
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimedOut from None
            received += len(message.get("body", b""))
            complete = not message.get("more_body", False)
            return message

        watched = WatchedSend(send)
        try:
            await self.app(scope, timed_receive, watched)
        except BodyTimedOut:
            if watched.started:
                raise
            # The rest of the body may still trickle in: the connection cannot be reused.
            await refuse(
                Headers(scope=scope),
                408,
                N_("http.body_timeout"),
                {},
                scope,
                receive,
                send,
                close=True,
            )


async def refuse(
    headers: Headers,
    status: int,
    key: str,
    params: dict[str, object],
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    close: bool = False,
) -> None:
    """Answer a request refused before any route ran, in the client's language and
    media type."""
    message = translate(key, negotiate_locale(headers.get("accept-language")), **params)
    response = error_response(message, status, response_media_type(headers.get("accept")))
    if not close:
        await response(scope, receive, send)
        return
    response.headers["Connection"] = "close"
    await response(scope, receive, held_open(send))
    await linger(receive)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def held_open(send: Send) -> Send:
    """`send` that keeps the response, and so the connection, open after its last byte."""

    async def send_all_but_the_end(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "more_body": True}
        await send(message)

    return send_all_but_the_end


async def linger(receive: Receive) -> None:
    """Read and drop what the client still sends, for up to LINGER_SECONDS.

    A socket closed while the client's bytes still arrive answers them with a reset, and
    a reset makes the client's system drop the answer it has not read yet: the client
    would see "connection reset" instead of the 408 that says why."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LINGER_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass
