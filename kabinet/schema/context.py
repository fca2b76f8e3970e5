"""The GraphQL context: the caller and the application's services."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from strawberry.types import Info as StrawberryInfo

from kabinet.auth.context import Caller
from kabinet.events.sockets import Socket
from kabinet.schema.loaders import Loaders
from kabinet.services import Services


@dataclass(slots=True)
class Context:
    caller: Caller
    services: Services
    loaders: Loaders = field(default_factory=Loaders)
    # One context serves a whole WebSocket connection; see RecheckWebSocketCaller.
    websocket: bool = False
    # The WebSocket `connection_init` payload; Strawberry sets it before `on_ws_connect`.
    connection_params: dict[str, object] | None = None
    # The signed-in WebSocket, counted against the limits (set by `on_ws_connect`).
    socket: Socket | None = None
    # Stops the WebSocket's operations and closes it (set by the protocol handler).
    close_socket: Callable[[int, str], Awaitable[None]] | None = None


type Info = StrawberryInfo[Context, None]
