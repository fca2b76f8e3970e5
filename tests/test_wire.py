"""Frames written below the ASGI `send` (kabinet.wire), against the pinned uvicorn and
websockets: these fail when what `FrameWriter` relies on changes."""

import asyncio
from typing import Any

import pytest
import websockets
from websockets.frames import Frame, Opcode

from kabinet.wire import FRAMES, FramesMiddleware, FrameWriter, text_frame_header
from tests.conftest import serve_on_loopback


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536, 70000])
def test_a_frame_is_what_websockets_itself_would_send(length: int):
    payload = ("ї" * length).encode()[:length]
    ours = text_frame_header(len(payload)) + payload
    assert ours == Frame(Opcode.TEXT, payload).serialize(mask=False)


class WritingApp:
    """A WebSocket endpoint that writes its messages as frames past `send`, between two
    sent through it, and notes what it found."""

    def __init__(self) -> None:
        self.writers: list[FrameWriter | None] = []
        # (closing, paused) while open, and after the close.
        self.states: list[tuple[bool, bool]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        writer: FrameWriter | None = scope[FRAMES]
        self.writers.append(writer)
        await send({"type": "websocket.send", "text": "first"})
        if writer is not None:
            self.states.append((writer.closing, writer.paused))
            writer.write_text('{"id":"вкладка \\"2\\"",'.encode(), b'"n":1}')
            writer.write_text(b"", "ї".encode() * 40_000)
        await send({"type": "websocket.send", "text": "last"})
        assert (await receive())["type"] == "websocket.receive"  # the client's "bye"
        await send({"type": "websocket.close", "code": 1000})
        if writer is not None:
            self.states.append((writer.closing, writer.paused))


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "permessage-deflate"])
async def test_frames_reach_a_client_through_uvicorns_connection(compressed: bool):
    """Plain (as `kabinet serve` runs): the frames arrive between the ASGI messages, in
    order; a compressed connection has no writer (its messages keep the ASGI path)."""
    app = WritingApp()
    instance, task, port = await serve_on_loopback(
        FramesMiddleware(app), ws_per_message_deflate=compressed
    )
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
            received = [await ws.recv() for _ in range(2 if compressed else 4)]
            await ws.send("bye")
            await ws.wait_closed()
    finally:
        instance.should_exit = True
        await task

    if compressed:
        assert app.writers == [None]
        assert received == ["first", "last"]
        return
    assert isinstance(app.writers[0], FrameWriter)
    assert received == ["first", '{"id":"вкладка \\"2\\"","n":1}', "ї" * 40_000, "last"]
    assert app.states == [(False, False), (True, False)]


def test_a_send_that_is_not_uvicorns_connection_has_no_writer():
    async def send(message: Any) -> None:  # a middleware's wrapper, another server's send
        pass

    assert FrameWriter.of(send) is None
    assert FrameWriter.of(asyncio.Queue().put) is None
