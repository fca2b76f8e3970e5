"""The `/graphql` endpoint: Strawberry's ASGI view with our context and offline GraphiQL."""

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from graphql import ExecutionResult
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, GraphQLRequestProtocol
from strawberry.http.types import QueryParams
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyConnectionInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from kabinet.auth.context import Caller
from kabinet.auth.sessions import bearer_token, request_session, resolve_session
from kabinet.events.sockets import TOO_MANY_SOCKETS, Socket, TooMany
from kabinet.i18n import Locale, negotiate_locale, translate
from kabinet.schema import build_schema
from kabinet.schema.context import Context
from kabinet.schema.errors import GraphQLErrorCode
from kabinet.schema.sharing import OUTLET, Outlet, encode_message
from kabinet.schema.trusted import (
    DOCUMENT_ID,
    DocumentRefused,
    TrustedDocumentPolicy,
    with_document_id,
)
from kabinet.services import Services
from kabinet.wire import FRAMES

GRAPHIQL_PAGE = Path(__file__).parent.parent / "static" / "graphiql.html"
# A browser sends these content types cross-site without a CORS preflight, so a
# request with one must prove it is not a forged form post (Apollo Server's rule).
_SIMPLE_CONTENT_TYPES = {
    "",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
}


class Refusal(HTTPException):
    """A request refused before GraphQL runs, told in the client's language."""

    def __init__(
        self,
        status_code: int,
        key: str,
        code: GraphQLErrorCode | None = None,
        **params: object,
    ) -> None:
        super().__init__(status_code, key)
        self.key = key
        self.code = code
        self.params = params

    def message(self, accept_language: str | None) -> str:
        return self.told(negotiate_locale(accept_language))

    def told(self, locale: Locale) -> str:
        return translate(self.key, locale, **self.params)


JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def trusted_document(
    policy: TrustedDocumentPolicy, query: object, extensions: object, caller: Caller
) -> object:
    """`TrustedDocumentPolicy.document` for an HTTP request (`/graphql`, `/graphql/stream`):
    a refused one is a 400 typed by its code."""
    try:
        return policy.document(query, extensions, caller)
    except DocumentRefused as refused:
        raise Refusal(400, refused.key, refused.code) from refused


def needs_preflight(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    headers = request.headers
    proved = headers.get("graphql-require-preflight") or headers.get("x-apollo-operation-name")
    return content_type in _SIMPLE_CONTENT_TYPES and not proved


@functools.lru_cache(maxsize=256)  # each request asks twice; clients send a few Accepts
def response_media_type(accept: str | None) -> str:
    """GraphQL over HTTP: `application/graphql-response+json` when the client's Accept
    ranks it above `application/json` (or lists it first at the same quality), else
    `application/json`, also for a missing Accept, `*/*` or nothing we can serve."""
    best_rank, best = (0.0, False, 0), JSON
    for position, part in enumerate((accept or "").split(",")):
        media_range, *parameters = (piece.strip().lower() for piece in part.split(";"))
        if media_range not in (GRAPHQL_RESPONSE_JSON, JSON, "application/*", "*/*"):
            continue
        quality = 1.0
        for name, _, value in (parameter.partition("=") for parameter in parameters):
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        # At equal quality a named type beats a wildcard, then the one listed first wins.
        rank = (quality, "*" not in media_range, -position)
        if quality > 0 and rank > best_rank:
            best_rank = rank
            best = GRAPHQL_RESPONSE_JSON if media_range == GRAPHQL_RESPONSE_JSON else JSON
    return best


def error_response(
    message: str, status_code: int, media_type: str, code: GraphQLErrorCode | None = None
) -> Response:
    """A request the server refuses before executing it, as a GraphQL response
    without `data` (the spec's request error), in the media type the client accepts."""
    error: dict[str, object] = {"message": message}
    if code is not None:
        error["extensions"] = {"code": code}
    return Response(
        orjson.dumps({"errors": [error]}),
        status_code=status_code,
        media_type=f"{media_type}; charset=utf-8",
        # A mutation over GET is 405, and HTTP wants the methods that would work.
        headers={"Allow": "POST"} if status_code == 405 else None,
    )


class SocketRefused(Exception):
    """A signed-in WebSocket over a limit: closed with `TOO_MANY_SOCKETS` and this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SocketAdapter(ASGIWebSocketAdapter):
    """Sends nothing once the socket is closed: a session that ends closes it from another
    task, while an operation on it may still be finishing."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        if self.ws.application_state is not WebSocketState.DISCONNECTED:
            await super().send_json(message)

    async def send_text(self, text: str) -> None:
        """A message already encoded (a group's shared answer, `Outlet`); a socket found
        gone takes nothing, and its handler ends its operations when it reads the close."""
        if self.ws.application_state is not WebSocketState.DISCONNECTED:
            with contextlib.suppress(WebSocketDisconnect):
                await self.ws.send_text(text)


class SocketHandling:
    """What both protocols' handlers add: the socket can be closed from elsewhere (its
    session ended), and it stops counting against the limits when it is gone."""

    # Strawberry's handler (after this class in the MRO) has these.
    context: Context
    websocket: SocketAdapter  # our view's `websocket_adapter_class`
    cleanup_operation: Callable[[str], Awaitable[None]]
    send_message: Callable[[Any], Awaitable[None]]
    view: "KabinetGraphQL"
    connection_acknowledged: bool
    # The protocol's message for an answer: graphql-transport-ws `next`, graphql-ws `data`.
    answer_type: str

    def outlet(self, operation_id: str) -> None:
        """Lets the operation running in this task send a shared answer itself, as a frame
        written to the connection when the server is one `kabinet.wire` knows."""
        frames = self.websocket.ws.scope.get(FRAMES)
        OUTLET.set(Outlet(operation_id, self.answer_type, self.websocket.send_text, frames))

    async def handle(self) -> None:
        self.context.close_socket = self.close
        try:
            await super().handle()  # type: ignore[misc]
        finally:
            if self.context.socket is not None:
                self.context.services.sockets.forget(self.context.socket)

    def operation_tasks(self) -> dict[str, asyncio.Task[Any] | None]:
        raise NotImplementedError  # each protocol's handler keeps its tasks its own way

    def error_message(self, operation_id: str, error: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError  # each protocol has its own `error` message

    async def trusted(self, message: Any) -> Any | None:
        """A subscribe (`start`) message with the document to run: the approved one its
        payload's `documentId` or persisted-query hash names, as the trusted documents'
        rules say; None once a refused one is answered with the protocol's `error` for
        that operation (the socket stays open)."""
        payload = message["payload"]
        if not (self.connection_acknowledged and isinstance(payload, dict)):
            return message  # Strawberry's handler refuses it
        payload = with_document_id(payload)
        try:
            query = self.view.trusted.document(
                payload.get("query"), payload.get("extensions"), self.context.caller
            )
        except DocumentRefused as refused:
            error = refused.formatted(self.context.caller.locale)
            await self.send_message(self.error_message(message["id"], error))
            return None
        return message if query is None else {**message, "payload": {**payload, "query": query}}

    async def close(self, code: int, reason: str) -> None:
        """Cancel the socket's operations, then close it with ``code``. The operation that
        asks (a logout sent over this very socket) finishes; `SocketAdapter` drops its
        answer."""
        current = asyncio.current_task()
        for operation_id, task in self.operation_tasks().items():
            if task is not current:
                await self.cleanup_operation(operation_id)
        await self.websocket.close(code=code, reason=reason)


class TransportWSHandler(SocketHandling, BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws; a socket over the limits is closed with `TOO_MANY_SOCKETS`."""

    answer_type = "next"

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        self.outlet(operation.id)
        await super().run_operation(operation)

    def operation_tasks(self) -> dict[str, asyncio.Task[Any] | None]:
        return {operation_id: op.task for operation_id, op in self.operations.items()}

    def error_message(self, operation_id: str, error: dict[str, Any]) -> dict[str, Any]:
        return {"id": operation_id, "type": "error", "payload": [error]}

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if (trusted := await self.trusted(message)) is not None:
            await super().handle_subscribe(trusted)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketRefused as refused:
            await self.websocket.close(code=TOO_MANY_SOCKETS, reason=refused.reason)


class LegacyWSHandler(SocketHandling, BaseGraphQLWSHandler[Context, None]):
    """The older graphql-ws protocol; a refusal is its `connection_error`, then the close."""

    answer_type = "data"

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        self.outlet(operation_id)
        await super().handle_async_results(operation_id, query, operation_name, variables)

    def operation_tasks(self) -> dict[str, asyncio.Task[Any] | None]:
        return dict(self.tasks)

    def error_message(self, operation_id: str, error: dict[str, Any]) -> dict[str, Any]:
        return {"type": "error", "id": operation_id, "payload": error}

    async def handle_start(self, message: StartMessage) -> None:
        if (trusted := await self.trusted(message)) is not None:
            await super().handle_start(trusted)

    async def handle_connection_init(self, message: LegacyConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketRefused as refused:
            payload = {"code": GraphQLErrorCode.TOO_MANY_CONNECTIONS, "message": refused.reason}
            await self.send_message({"type": "connection_error", "payload": payload})
            await self.websocket.close(code=TOO_MANY_SOCKETS, reason=refused.reason)


class RequestAdapter(StarletteRequestAdapter):
    """Starlette's adapter with the method and the content type read once: Strawberry's
    view asks for them eight times a request, each through two properties and a cast."""

    # Plain attributes in place of the base class's properties, set for each request.
    method = "GET"  # type: ignore[assignment]
    content_type = None  # type: ignore[assignment]

    def __init__(self, request: Request) -> None:
        super().__init__(request)
        self.method = request.method
        self.content_type = request.headers.get("content-type")


class KabinetGraphQL(GraphQL[Context, None]):
    request_adapter_class = RequestAdapter
    websocket_adapter_class = SocketAdapter  # type: ignore[assignment]
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, services: Services) -> None:
        settings = services.settings
        super().__init__(
            build_schema(),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allowed_origins=settings.origins,
            keep_alive=True,
            multipart_uploads_enabled=True,
            keep_alive_interval=15,
        )
        self.services = services
        # A manifest that cannot be trusted stops the server here, before it serves.
        self.trusted = TrustedDocumentPolicy.of(settings)

    async def run(self, request: Request | WebSocket, *args: Any, **kwargs: Any) -> Any:
        if isinstance(request, WebSocket):
            return await super().run(request, *args, **kwargs)
        media_type = response_media_type(request.headers.get("accept"))
        # The GraphiQL page runs nothing, so a browser may open it as a plain GET.
        languages = request.headers.get("accept-language")
        if needs_preflight(request) and not self.should_render_graphql_ide(request):
            return error_response(Refusal(400, "http.csrf").message(languages), 400, media_type)
        try:
            return await super().run(request, *args, **kwargs)
        except Refusal as refusal:
            message = refusal.message(languages)
            return error_response(message, refusal.status_code, media_type, refusal.code)
        except HTTPException as error:
            return error_response(error.reason, error.status_code, media_type)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """As Strawberry's, but a body that is JSON yet no request (`1`, `null`, a string) or
        a malformed multipart form is a 400, not an exception."""
        try:
            parsed = await super().parse_http_body(request)
        except HTTPException:
            raise
        except (AttributeError, TypeError, ValueError, KeyError, IndexError) as error:
            raise Refusal(400, "http.not_graphql") from error
        json_body = request.method == "POST" and JSON in (request.content_type or "")
        if isinstance(parsed, GraphQLRequestData) and json_body:
            # A JSON body's `documentId`, which Strawberry drops (GET's and a multipart
            # form's are kept by the two methods below). Only a body that names it is
            # parsed again: such a request is small, it carries no document.
            body = await request.get_body()
            if DOCUMENT_ID.encode() in body:
                folded = with_document_id(self.parse_json(body))
                parsed = dataclasses.replace(parsed, extensions=folded.get("extensions"))
        return parsed

    def should_render_graphql_ide(self, request: Any) -> bool:
        """A GET that names a document by id runs it; only one naming nothing is the page.
        Strawberry's test comes first: it refuses a POST before its query string is read."""
        return super().should_render_graphql_ide(request) and (
            DOCUMENT_ID not in request.query_params
        )

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        return with_document_id(super().parse_query_params(params))

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        return with_document_id(await super().parse_multipart(request))

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> Any:
        """As Strawberry's, for the document the trusted documents' rules pick."""
        if isinstance(request_data, GraphQLRequestData):  # a batch is refused while parsing
            query = trusted_document(
                self.trusted, request_data.query, request_data.extensions, context.caller
            )
            if query is not request_data.query:  # the document the request named by id
                request_data = dataclasses.replace(request_data, query=query)  # type: ignore[arg-type]
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """JSON in the negotiated media type; with `application/graphql-response+json` a
        request error (no `data`: the document did not parse, validate or get its
        variables) is 400, as GraphQL over HTTP asks (`application/json` keeps 200)."""
        response = super().create_response(response_data, sub_response)
        media_type = sub_response.media_type or JSON
        response.headers["content-type"] = f"{media_type}; charset=utf-8"
        request_error = isinstance(response_data, dict) and "data" not in response_data
        if media_type == GRAPHQL_RESPONSE_JSON and request_error and not sub_response.status_code:
            response.status_code = 400
        return response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Without `data` when execution never started (errors without a path), so that
        clients can tell a request error from a field error that nulled the whole result."""
        response = await super().process_result(request, result)
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            response.pop("data", None)
        return response

    def _validate_batch_request(
        self, request_data: list[GraphQLRequestData], protocol: GraphQLRequestProtocol
    ) -> None:
        """Batching is off: a JSON array would run several operations for one request."""
        raise Refusal(400, "http.batch")

    async def get_context(self, request: Request | WebSocket, response: object) -> Context:
        resolved = await request_session(request, ttl=self.services.settings.session_ttl)
        caller = Caller.of(request, resolved)
        return Context(
            caller=caller, services=self.services, websocket=isinstance(request, WebSocket)
        )

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """WebSocket sign-in: `{"token": ...}` or `{"Authorization": "Bearer ..."}` at init;
        a missing, unknown or ended session closes the connection with 4403, a socket over
        its account's or address's limit with 4429."""
        params = context.connection_params or {}
        token = params.get("token")
        if not isinstance(token, str):
            token = bearer_token(params.get("Authorization") or params.get("authorization"))
        # The WebSocket carries subscriptions to a person's own data: no session, no socket.
        resolved = await resolve_session(token, ttl=self.services.settings.session_ttl)
        if resolved is None:
            raise ConnectionRejectionError({"code": GraphQLErrorCode.UNAUTHENTICATED})
        caller = context.caller
        caller.session, caller.user = resolved
        caller.locale = caller.user.locale
        if context.close_socket is None:  # pragma: no cover - our handlers always set it
            raise RuntimeError("a WebSocket handler without close_socket")
        socket = Socket(
            user_id=caller.user.id,  # type: ignore[arg-type]
            session_id=caller.session.id,  # type: ignore[arg-type]
            ip=caller.ip,
            locale=caller.locale,
            close=context.close_socket,
        )
        try:
            self.services.sockets.admit(socket)
        except TooMany as refused:
            raise SocketRefused(refused.message(caller.locale)) from refused
        context.socket = socket
        return UNSET  # an acknowledgement without a payload, as graphql-ws clients expect

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """As Strawberry's, but a mutation over GET is 405 (GraphQL over HTTP), not 400, and
        a subscription is a 400 that says where subscriptions run."""
        try:
            return await super().execute_single(*args, **kwargs)
        except HTTPException as error:
            cause = error.__cause__
            if isinstance(cause, InvalidOperationTypeError):
                if cause.operation_type is OperationType.SUBSCRIPTION:
                    raise Refusal(400, "http.subscription") from cause
                raise HTTPException(405, error.reason) from cause
            raise

    def encode_json(self, data: object) -> str:
        # Text, not bytes: Strawberry sends bytes as binary WebSocket frames, which
        # graphql-ws clients (and browsers) do not read as protocol messages. An event's
        # answer shared by many subscribers is encoded once (kabinet.schema.sharing).
        if isinstance(data, Mapping):
            return encode_message(data)
        return orjson.dumps(data).decode()

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(GRAPHIQL_PAGE.read_text(encoding="utf-8"))
