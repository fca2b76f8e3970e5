"""The GraphQL context: the caller and the application's services."""

from dataclasses import dataclass

from strawberry.types import Info as StrawberryInfo

from kabinet.auth.context import Caller
from kabinet.services import Services


@dataclass(slots=True)
class Context:
    caller: Caller
    services: Services
    # The WebSocket `connection_init` payload; Strawberry sets it before `on_ws_connect`.
    connection_params: dict[str, object] | None = None


type Info = StrawberryInfo[Context, None]
