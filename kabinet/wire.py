"""WebSocket frames written straight to the connection, below Starlette's and uvicorn's
ASGI `send`: a live event's answer, encoded once for its group, goes to each socket of the
group as one frame (kabinet.events, `Broker`), without waking the subscriber's task.

Only uvicorn's websockets (sans-I/O) connection is known: `FrameWriter.of` finds it behind
the ASGI `send` that uvicorn hands the application (a bound method of the connection) and
gives None for anything else (another server, a `send` wrapped by a middleware, a
compressed connection), which then keeps the ASGI path. tests/test_wire.py fails when the
pinned uvicorn or websockets changes what this relies on.
"""

import struct
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

# Compressing costs CPU per socket for every message, and a compressed connection cannot be
# sent a frame encoded once for many: `kabinet serve` does not negotiate permessage-deflate.
WS_PER_MESSAGE_DEFLATE = False

# Where `FramesMiddleware` leaves a WebSocket's `FrameWriter` (or None) in its ASGI scope.
FRAMES = "kabinet.frames"

_FIN_TEXT = 0x81  # a whole (final) text frame; a server's frames are not masked (RFC 6455)


def text_frame_header(length: int) -> bytes:
    """The header of an unmasked, final text frame carrying ``length`` bytes."""
    if length < 126:
        return bytes((_FIN_TEXT, length))
    if length < 65536:
        return struct.pack("!BBH", _FIN_TEXT, 126, length)
    return struct.pack("!BBQ", _FIN_TEXT, 127, length)


class FrameWriter:
    """Writes whole text frames to one uvicorn WebSocket connection's transport."""

    __slots__ = ("_connection",)

    def __init__(self, connection: WebSocketsSansIOProtocol) -> None:
        self._connection = connection

    @classmethod
    def of(cls, send: Callable[..., Any]) -> "FrameWriter | None":
        """The writer for the connection behind uvicorn's ASGI ``send``; None when ``send``
        is not uvicorn's websockets connection as this module knows it, or the connection
        compresses its messages."""
        connection = getattr(send, "__self__", None)
        if type(connection) is not WebSocketsSansIOProtocol:
            return None
        if connection.conn.extensions:
            return None
        return cls(connection)

    @property
    def closing(self) -> bool:
        """Whether the socket is closed or closing: nothing more may be written."""
        connection = self._connection
        return connection.close_sent or connection.disconnected or connection.transport.is_closing()

    @property
    def paused(self) -> bool:
        """Whether the transport's write buffer is over its high-water mark (the client
        reads slower than it is sent): uvicorn's own `send` waits then, and so must we."""
        return not self._connection.writable.is_set()

    def write_text(self, head: bytes, tail: bytes) -> None:
        """One text frame whose payload is ``head`` then ``tail`` (UTF-8)."""
        self._connection.transport.write(
            b"".join((text_frame_header(len(head) + len(tail)), head, tail))
        )


class FramesMiddleware:
    """Leaves each WebSocket's `FrameWriter` (or None) in its scope under `FRAMES`.

    It must be the outermost of the application's middleware: inside, Starlette wraps
    `send`, and the connection can no longer be found behind it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[FRAMES] = FrameWriter.of(send)
        await self.app(scope, receive, send)
