"""Slow request bodies and idle connections are cut off instead of held for ever."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from tests.test_cli import serving

DECLARED = 1000


async def trickle(writer: asyncio.StreamWriter, sent: list[int], pause: float) -> None:
    """A byte of the body now and then, as the attack sent it."""
    with contextlib.suppress(ConnectionError):
        while sum(sent) < DECLARED:
            writer.write(b"{")
            await writer.drain()
            sent.append(1)
            await asyncio.sleep(pause)


async def chunks(content: bytes, size: int, pause: float) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]
        await asyncio.sleep(pause)


async def read_answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """An HTTP/1.1 answer's head and its Content-Length body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


async def test_a_trickled_body_gets_408_and_an_idle_connection_is_closed(tmp_path: Path):
    limits = {
        "body_timeout_seconds": "1",
        "body_min_bytes_per_second": "100",  # each byte buys 0.01 s
        "keepalive_timeout_seconds": "1",
    }
    async with serving(tmp_path, **limits) as http:
        port = http.base_url.port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: cabinet\r\nContent-Type: application/json\r\n"
            b"Accept-Language: en\r\nContent-Length: %d\r\n\r\n" % DECLARED
        )
        sent: list[int] = []
        trickling = asyncio.create_task(trickle(writer, sent, pause=0.1))
        async with asyncio.timeout(30):  # a generous bound; the counts below are the test
            head, body = await read_answer(reader)
            # The server hangs up; bytes the trickle sends after that are answered with
            # a reset, which no longer costs the client the answer it has read.
            with contextlib.suppress(ConnectionResetError):
                assert await reader.read() == b""
        trickling.cancel()
        writer.close()

        assert head.startswith(b"HTTP/1.1 408 "), head
        assert b"connection: close" in head.lower()
        assert b"arrived too slowly" in body
        # Cut off long before the declared body was sent, at one byte per 0.1 s.
        assert len(sent) < DECLARED // 10

        # A body at a normal speed, on the same server, is answered.
        normal = await http.post("/graphql", json={"query": "{ __typename }"})
        assert normal.json() == {"data": {"__typename": "Query"}}
        # So is one slower than the whole-body time (3 s in chunks of 100 bytes) that keeps
        # the minimum rate: each chunk buys a second.
        padded = b'{"query": "{ __typename }%s"}' % (b" " * 2970)
        slow = await http.post(
            "/graphql",
            content=chunks(padded, 100, pause=0.1),
            headers={"Content-Type": "application/json"},
        )
        assert slow.json() == {"data": {"__typename": "Query"}}

        # A connection idle after its answer is closed by the server, after the configured
        # second (uvicorn's own default, 5 s, is past the bound).
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: cabinet\r\n\r\n")
        first = await reader.readuntil(b'{"status":"ok"}')
        async with asyncio.timeout(4):
            rest = await reader.read()
        writer.close()
        assert first.startswith(b"HTTP/1.1 200 ")
        assert rest == b""  # EOF: the server hung up
