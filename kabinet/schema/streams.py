"""Subscriptions over Server-Sent Events at `/graphql/stream`: the graphql-sse protocol.

Distinct connections mode: a `POST` with `Accept: text/event-stream` runs one
subscription and answers with its stream (`next` events, then `complete`). Single
connection mode: a `PUT` reserves a stream and answers its token; a `GET` with the token
(`X-GraphQL-Event-Stream-Token` header or `token` parameter) opens that one stream; a
`POST` with the token and `extensions.operationId` starts an operation whose results
arrive on it (202); `DELETE ?operationId=` stops one.

The rules are the WebSocket's: every request needs a live bearer session (401), a
browser's `Origin` must be allowed (403), a JSON body needs the CSRF proof the `/graphql`
view asks for; an open stream (or a reservation) counts as a socket against the limits
(`Sockets`), each operation as a subscription, and a stream whose session ends (here or
in another process) ends with a `next` naming why, then `complete`. Its messages wait in
a queue of `KABINET_WS_SUBSCRIBER_BACKLOG`: a client that stops reading backs up the
operation, then the broker, which drops the stream (`Sockets.fell_behind`). An idle
stream gets a comment line every `KABINET_SSE_KEEP_ALIVE_SECONDS` so proxies keep it.

Reservations and streams live in the process that made them: behind several replicas
the proxy sends one session's stream requests to one replica (deploy/Caddyfile).
"""

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import orjson
from beanie import PydanticObjectId
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.http.websocket_origin import is_same_origin, normalize_origin
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from kabinet.auth.context import Caller
from kabinet.auth.sessions import request_session
from kabinet.events.sockets import SESSION_ENDED, Socket, TooMany
from kabinet.i18n import N_, negotiate_locale
from kabinet.schema.context import Context
from kabinet.schema.errors import GraphQLErrorCode
from kabinet.schema.trusted import TrustedDocumentPolicy, with_document_id
from kabinet.schema.view import JSON, Refusal, error_response, needs_preflight, trusted_document
from kabinet.services import Services

logger = logging.getLogger(__name__)
UNAUTHENTICATED = GraphQLErrorCode.UNAUTHENTICATED.value

EVENT_STREAM = "text/event-stream"
RESERVATION_HEADER = "x-graphql-event-stream-token"
# A reservation its `GET` does not take up within this long is dropped.
RESERVATION_SECONDS = 30.0
KEEP_ALIVE = b":\n\n"
STREAM_HEADERS = {
    "Cache-Control": "no-cache",
    # Proxies that buffer responses (nginx) pass this one through as it is written.
    "X-Accel-Buffering": "no",
}


def sse_message(event: str, data: Mapping[str, Any] | None) -> bytes:
    """One event; `complete` in distinct mode has an empty `data:` so EventSource fires."""
    body = orjson.dumps(data) if data is not None else b""
    return b"event: " + event.encode() + b"\ndata: " + body + b"\n\n"


def payload_of(result: ExecutionResult) -> dict[str, Any]:
    """An execution result as graphql-transport-ws's `next` carries it."""
    payload: dict[str, Any] = {}
    if result.data is not None or not result.errors:
        payload["data"] = result.data
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


@dataclass(frozen=True, slots=True)
class Operation:
    """A GraphQL request sent to run on a stream, and the context it runs in."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any]
    context: Context


@dataclass(eq=False)
class EventStream:
    """One event stream (or its reservation) and the operations writing to it.

    ``token`` is None in distinct connections mode, where the stream carries one operation
    (id "") and ends with it."""

    token: str | None
    caller: Caller
    capacity: int
    queue: asyncio.Queue[bytes | None] = field(init=False)
    socket: Socket = field(init=False)
    operations: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    writer: asyncio.Task[None] | None = None
    opened: bool = False
    # The last words of a stream whose session ended.
    farewell: bytes = b""

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.capacity)
        self.socket = Socket(
            user_id=self.caller.user.id,  # type: ignore[union-attr, arg-type]
            session_id=self.session_id,
            ip=self.caller.ip,
            locale=self.caller.locale,
            close=self.close,
        )

    @property
    def session_id(self) -> PydanticObjectId:
        return self.caller.session.id  # type: ignore[union-attr, return-value]

    def next_event(self, operation_id: str, payload: Mapping[str, Any]) -> bytes:
        if self.token is None:
            return sse_message("next", payload)
        return sse_message("next", {"id": operation_id, "payload": payload})

    def complete_event(self, operation_id: str) -> bytes:
        return sse_message("complete", None if self.token is None else {"id": operation_id})

    async def run(self, operation_id: str, schema: BaseSchema, request: Operation) -> None:
        """The operation's task: its results, then `complete` (the stream's end in distinct
        mode). A task cancelled (DELETE, session ended, stream gone) sends nothing more."""
        try:
            results = await schema.stream(
                request.query,
                variable_values=request.variables,
                context_value=request.context,
                operation_name=request.operation_name,
            )
            async with aclosing(results):  # type: ignore[type-var]
                async for result in results:  # type: ignore[union-attr]
                    await self.queue.put(self.next_event(operation_id, payload_of(result)))
        except GraphQLError as error:  # a document that does not parse
            await self.queue.put(self.next_event(operation_id, {"errors": [error.formatted]}))
        except Exception:
            logger.exception("a subscription over SSE failed")
        self.operations.pop(operation_id, None)
        await self.queue.put(self.complete_event(operation_id))
        if self.token is None:
            await self.queue.put(None)

    def start(self, operation_id: str, schema: BaseSchema, request: Operation) -> None:
        self.operations[operation_id] = asyncio.create_task(
            self.run(operation_id, schema, request), name=f"sse-operation-{operation_id}"
        )

    def stop(self, operation_id: str) -> bool:
        task = self.operations.pop(operation_id, None)
        if task is not None:
            task.cancel()
        return task is not None

    async def close(self, code: int, reason: str) -> None:
        """`Socket.close`: stop the operations. An ended session drops the events not yet
        sent (the person signed out), tells each operation why and ends the stream; a
        stream too slow to read is cut off."""
        running = list(self.operations)
        for operation_id in running:
            self.stop(operation_id)
        if code != SESSION_ENDED:
            if self.writer is not None:
                self.writer.cancel()
            return
        error = {"message": reason, "extensions": {"code": UNAUTHENTICATED}}
        self.farewell = b"".join(
            self.next_event(operation_id, {"errors": [error]}) + self.complete_event(operation_id)
            for operation_id in running
        )
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    async def write(self, send: Send, keep_alive: float) -> None:
        """Send what the operations queue, a comment line when there was nothing for
        ``keep_alive`` seconds, until the stream ends."""
        while True:
            try:
                async with asyncio.timeout(keep_alive):
                    message = await self.queue.get()
            except TimeoutError:
                message = KEEP_ALIVE
            if message is None:
                break
            await send({"type": "http.response.body", "body": message, "more_body": True})
        await send({"type": "http.response.body", "body": self.farewell, "more_body": False})


class EventStreamResponse(Response):
    """The stream, until it ends, the client goes away or the stream is cut off."""

    def __init__(self, stream: EventStream, streams: "EventStreams") -> None:
        super().__init__(headers=STREAM_HEADERS, media_type=f"{EVENT_STREAM}; charset=utf-8")
        # Its length is unknown: sent in chunks as events come.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.stream = stream
        self.streams = streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stream = self.stream
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        keep_alive = self.streams.services.settings.sse_keep_alive_seconds
        stream.writer = asyncio.create_task(stream.write(send, keep_alive))
        gone = asyncio.create_task(_until_disconnect(receive))
        try:
            await asyncio.wait({stream.writer, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            stream.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await stream.writer
            self.streams.drop(stream)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class EventStreams:
    """The endpoint, and this process's reservations by token."""

    def __init__(
        self, schema: BaseSchema, services: Services, trusted: TrustedDocumentPolicy
    ) -> None:
        self.schema = schema
        self.services = services
        self.trusted = trusted
        self.reserved: dict[str, EventStream] = {}

    async def respond(self, request: Request) -> Response:
        try:
            return await self.handle(request)
        except Refusal as refusal:
            locale = getattr(request.state, "locale", None) or negotiate_locale(
                request.headers.get("accept-language")
            )
            return error_response(refusal.told(locale), refusal.status_code, JSON, refusal.code)

    async def handle(self, request: Request) -> Response:
        self.check_origin(request)
        resolved = await request_session(request, ttl=self.services.settings.session_ttl)
        if resolved is None:
            raise Refusal(401, N_("sse.unauthenticated"), code=GraphQLErrorCode.UNAUTHENTICATED)
        caller = Caller.of(request, resolved)
        request.state.locale = caller.locale
        token = request.headers.get(RESERVATION_HEADER) or request.query_params.get("token")
        if request.method == "PUT":
            return self.reserve(caller)
        if token is None:
            if request.method != "POST" or EVENT_STREAM not in request.headers.get("accept", ""):
                raise Refusal(400, N_("sse.how"))
            body = await self.body(request, caller)  # before the stream counts
            stream = self.admitted(None, caller)
            stream.start("", self.schema, self.operation(body, caller, stream))
            return EventStreamResponse(stream, self)
        stream = self.reserved.get(token)
        if stream is None or stream.session_id != caller.session.id:  # type: ignore[union-attr]
            raise Refusal(404, N_("sse.stream_not_found"))
        if request.method == "GET":
            if stream.opened:
                raise Refusal(409, N_("sse.stream_open"))
            stream.opened = True
            return EventStreamResponse(stream, self)
        operation_id = request.query_params.get("operationId")
        if request.method == "DELETE":
            if not operation_id:
                raise Refusal(400, N_("sse.operation_id_missing"))
            if not stream.stop(operation_id):
                raise Refusal(404, N_("sse.operation_not_found"))
            return Response(status_code=200)
        operation = self.operation(await self.body(request, caller), caller, stream)
        operation_id = operation.extensions.get("operationId")
        if not isinstance(operation_id, str) or not operation_id:
            raise Refusal(400, N_("sse.operation_id_missing"))
        if operation_id in stream.operations:
            raise Refusal(409, N_("sse.operation_exists"))
        stream.start(operation_id, self.schema, operation)
        return Response(status_code=202)

    def check_origin(self, request: Request) -> None:
        """As the WebSocket handshake's: no `Origin` (not a browser), the same origin, or
        one of `KABINET_ALLOWED_ORIGINS`."""
        origin = request.headers.get("origin")
        if origin is None or request.headers.get("sec-fetch-site") == "same-origin":
            return
        if is_same_origin(origin, request.headers.get("host")):
            return
        if normalize_origin(origin) not in self.services.settings.origins:
            raise Refusal(403, N_("sse.foreign_origin"))

    def admitted(self, token: str | None, caller: Caller) -> EventStream:
        """A stream of ``caller``, counted against its account's and address's sockets."""
        stream = EventStream(token, caller, self.services.settings.ws_subscriber_backlog)
        try:
            self.services.sockets.admit(stream.socket)
        except TooMany as refused:
            raise Refusal(
                429, refused.key, code=GraphQLErrorCode.TOO_MANY_CONNECTIONS, limit=refused.limit
            ) from refused
        return stream

    def reserve(self, caller: Caller) -> Response:
        token = secrets.token_urlsafe(24)
        stream = self.reserved[token] = self.admitted(token, caller)
        asyncio.get_running_loop().call_later(RESERVATION_SECONDS, self.lapse, stream)
        return Response(token, status_code=201, media_type="text/plain")

    def lapse(self, stream: EventStream) -> None:
        if not stream.opened:
            self.drop(stream)

    def drop(self, stream: EventStream) -> None:
        """The stream is over: its operations stop, it no longer counts."""
        for operation_id in list(stream.operations):
            stream.stop(operation_id)
        if stream.token is not None and self.reserved.get(stream.token) is stream:
            del self.reserved[stream.token]
        self.services.sockets.forget(stream.socket)

    async def body(self, request: Request, caller: Caller) -> dict[str, Any]:
        """A `POST`'s GraphQL request, read before anything is counted, with the document
        the trusted documents' rules pick (`documentId` or a persisted-query hash, as on
        `/graphql`)."""
        if needs_preflight(request):
            raise Refusal(400, N_("http.csrf"))
        try:
            body = with_document_id(orjson.loads(await request.body()))
        except orjson.JSONDecodeError as error:
            raise Refusal(400, N_("http.not_graphql")) from error
        if not isinstance(body, dict):
            raise Refusal(400, N_("http.not_graphql"))
        query = trusted_document(self.trusted, body.get("query"), body.get("extensions"), caller)
        if not isinstance(query, str) or not query:
            raise Refusal(400, N_("http.not_graphql"))
        return {**body, "query": query}

    def operation(self, body: dict[str, Any], caller: Caller, stream: EventStream) -> Operation:
        variables, name, extensions = (
            body.get(key) for key in ("variables", "operationName", "extensions")
        )
        return Operation(
            query=body["query"],
            variables=variables if isinstance(variables, dict) else None,
            operation_name=name if isinstance(name, str) else None,
            extensions=extensions if isinstance(extensions, dict) else {},
            context=Context(caller=caller, services=self.services, socket=stream.socket),
        )
