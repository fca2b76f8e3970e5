"""The `/graphql` endpoint: Strawberry's ASGI view with our context and offline GraphiQL."""

from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import ExecutionResult
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.unset import UNSET, UnsetType

from kabinet.auth.context import Caller
from kabinet.auth.sessions import bearer_token, resolve_session
from kabinet.i18n import negotiate_locale
from kabinet.schema import build_schema
from kabinet.schema.context import Context
from kabinet.services import Services

GRAPHIQL_PAGE = Path(__file__).parent.parent / "static" / "graphiql.html"
# A browser sends these content types cross-site without a CORS preflight, so a
# request with one must prove it is not a forged form post (Apollo Server's rule).
_SIMPLE_CONTENT_TYPES = {
    "",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
}
CSRF_REFUSAL = (
    "This request has a content type a browser may send cross-site; "
    "add a non-empty GraphQL-Require-Preflight header."
)


def needs_preflight(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    headers = request.headers
    proved = headers.get("graphql-require-preflight") or headers.get("x-apollo-operation-name")
    return content_type in _SIMPLE_CONTENT_TYPES and not proved


class KabinetGraphQL(GraphQL[Context, None]):
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

    async def run(self, request: Request | WebSocket, *args: Any, **kwargs: Any) -> Any:
        if isinstance(request, Request) and request.method == "POST" and needs_preflight(request):
            return PlainTextResponse(CSRF_REFUSAL, status_code=400)
        return await super().run(request, *args, **kwargs)

    async def get_context(self, request: Request | WebSocket, response: object) -> Context:
        token = bearer_token(request.headers.get("authorization"))
        session, user = await resolve_session(token, ttl=self.services.settings.session_ttl) or (
            None,
            None,
        )
        caller = Caller(
            user=user,
            session=session,
            locale=user.locale
            if user
            else negotiate_locale(request.headers.get("accept-language")),
            ip=request.client.host if request.client else "unknown",
            user_agent=request.headers.get("user-agent"),
            request_id=request.state.request_id,
        )
        return Context(
            caller=caller, services=self.services, websocket=isinstance(request, WebSocket)
        )

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """WebSocket sign-in: `{"token": ...}` or `{"Authorization": "Bearer ..."}` at init;
        a missing, unknown or ended session closes the connection with 4403."""
        params = context.connection_params or {}
        token = params.get("token")
        if not isinstance(token, str):
            token = bearer_token(params.get("Authorization") or params.get("authorization"))
        # The WebSocket carries subscriptions to a person's own data: no session, no socket.
        resolved = await resolve_session(token, ttl=self.services.settings.session_ttl)
        if resolved is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        caller = context.caller
        caller.session, caller.user = resolved
        caller.locale = caller.user.locale
        return UNSET  # an acknowledgement without a payload, as graphql-ws clients expect

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """As Strawberry's, but a mutation over GET is 405 (GraphQL over HTTP), not 400."""
        try:
            return await super().execute_single(*args, **kwargs)
        except HTTPException as error:
            if isinstance(error.__cause__, InvalidOperationTypeError):
                raise HTTPException(405, error.reason) from error.__cause__
            raise

    def encode_json(self, data: object) -> str:
        # Text, not bytes: Strawberry sends bytes as binary WebSocket frames, which
        # graphql-ws clients (and browsers) do not read as protocol messages.
        return orjson.dumps(data).decode()

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(GRAPHIQL_PAGE.read_text(encoding="utf-8"))
