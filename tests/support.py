"""Test helpers: the loopback mailbox and a GraphQL client over real HTTP."""

import asyncio
import json
import re
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiosmtpd.controller import Controller
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from kabinet.clock import clock, now

PASSWORD = "Correct-horse-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """What the loopback SMTP server received."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self._controller: Controller | None = None

    def start(self) -> None:
        """Listen on the same port again (a stopped aiosmtpd controller cannot restart)."""
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Take the SMTP server down: connections are refused until ``start``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    async def wait_for(self, recipient: str, subject: str | None = None) -> EmailMessage:
        """The first message to ``recipient`` (whose subject contains ``subject``)."""
        async with asyncio.timeout(10):
            while True:
                for message in self.messages:
                    if message["To"] == recipient and (
                        subject is None or subject in str(message["Subject"])
                    ):
                        return message
                await asyncio.sleep(0.02)

    def to(self, recipient: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == recipient]


async def eventually[T](probe: Callable[[], Awaitable[T | None]], seconds: float = 10) -> T:
    """Poll ``probe`` until it returns something truthy (for work done in the background)."""
    async with asyncio.timeout(seconds):
        while not (result := await probe()):  # noqa: ASYNC110 - the state lives in another task or process
            await asyncio.sleep(0.02)
        return result


async def until_ready(http: httpx.AsyncClient, seconds: float) -> None:
    """Wait until the server behind ``http`` answers /readyz with 200."""

    async def ready() -> bool:
        try:
            return (await http.get("/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(ready, seconds=seconds)


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()


def link_token(message: EmailMessage) -> str:
    found = re.search(r"token=([A-Za-z0-9_\-]+)", body_of(message))
    assert found, body_of(message)
    return found.group(1)


class Api:
    """A GraphQL client over real HTTP."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The `data` of a response that must have no errors."""
        body = await self.post(query, variables, **kwargs)
        assert "errors" not in body, body
        return body["data"]


@asynccontextmanager
async def api_from(server: str, address: str) -> AsyncIterator[Api]:
    """A client of ``server`` whose connections come from ``address``: the whole of
    127.0.0.0/8 is this machine, so tests can sign in from several client addresses."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=server, transport=transport, timeout=30) as http:
        yield Api(http)


class SmsGateway:
    """A real HTTP server standing in for the SMS gateway: it keeps what it was sent."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # of each message, names in lower case
        self.down = False
        self.url = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = (await receive())["type"]
                await send({"type": f"{event}.complete"})
                if event == "lifespan.shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status = 503 if self.down else 200
        if not self.down:
            self.messages.append(json.loads(body))
            self.headers.append({name.decode(): value.decode() for name, value in scope["headers"]})
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    def reset(self) -> None:
        """Nothing received, and up."""
        self.messages.clear()
        self.headers.clear()
        self.down = False

    @property
    def authorizations(self) -> list[str]:
        return [headers.get("authorization", "") for headers in self.headers]

    async def wait_for(self, phone: str, count: int = 1) -> list[dict[str, Any]]:
        """The first ``count`` SMS sent to ``phone``, in the order they arrived."""
        async with asyncio.timeout(10):
            while len(self.to(phone)) < count:  # noqa: ASYNC110 - filled by another task
                await asyncio.sleep(0.02)
        return self.to(phone)[:count]

    def to(self, phone: str) -> list[dict[str, Any]]:
        return [message for message in self.messages if message["to"] == phone]


def sms_code(message: dict[str, Any]) -> str:
    found = re.search(r"\b(\d{6})\b", message["text"])
    assert found, message
    return found.group(1)


class CommandLog(CommandListener):
    """Counts the MongoDB commands the application sends (PyMongo command monitoring)."""

    # The app's background tasks (see kabinet.app) query on their own schedule.
    BACKGROUND = frozenset(
        {
            "outbox-sender",
            "deletions",
            "announcements",
            "orphan-files",
            "overdue-announcements",
            "search-keys",
            "due-times",
            "request-events",
            "socket-sessions",
            "link-key",
        }
    )
    SELECTING = frozenset({"find", "findAndModify", "update", "delete", "aggregate", "count"})

    def __init__(self) -> None:
        self.commands: list[tuple[str, object, str]] = []
        # The task that sent each of `commands` (its id): two processes' tasks of one name
        # (each app runs its own background tasks) are told apart by it.
        self.senders: list[int] = []
        # (collection, projection) of every find that asked for some fields only
        self.projections: list[tuple[object, object]] = []
        # Every command that selects documents, whole (tests/test_query_plans.py explains them)
        self.selecting: list[dict[str, Any]] = []

    def started(self, event: CommandStartedEvent) -> None:
        task = asyncio.current_task()
        self.commands.append(
            (
                event.command_name,
                event.command.get(event.command_name),
                task.get_name() if task else "",
            )
        )
        self.senders.append(id(task))
        if event.command_name == "find" and event.command.get("projection"):
            self.projections.append((event.command["find"], event.command["projection"]))
        if event.command_name in self.SELECTING:
            self.selecting.append(dict(event.command))

    def during_request(self, start: int) -> list[tuple[str, object]]:
        """Commands since ``start`` (a length of ``commands``) but for background tasks'."""
        return [
            (name, collection)
            for name, collection, task in self.commands[start:]
            if task not in self.BACKGROUND
        ]

    def rounds(self, task_name: str, command: tuple[str, str], since: int) -> Counter[int]:
        """How many times each task named ``task_name`` sent ``command`` (its name and its
        collection) since ``since`` (a length of ``commands``), by task: the rounds of a
        background task's periodic work, one count per process."""
        sent = zip(self.commands[since:], self.senders[since:], strict=True)
        return Counter(
            sender
            for (name, collection, task), sender in sent
            if task == task_name and (name, collection) == command
        )

    async def until_rounds(
        self, task_name: str, command: tuple[str, str], *, since: int, rounds: int, tasks: int = 1
    ) -> None:
        """Wait until ``tasks`` tasks named ``task_name`` (in as many processes) have each
        sent ``command`` ``rounds`` times since ``since``: time observed passing, in rounds
        of their work, rather than slept."""

        async def done() -> bool:
            counts = self.rounds(task_name, command, since)
            return sum(count >= rounds for count in counts.values()) >= tasks

        await eventually(done)

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


def at_the_start_of_a_window(window: timedelta = timedelta(minutes=15)) -> None:
    """Move the clock just past the next window boundary, so that a test's attempts all
    fall in one fixed window however long they take."""
    seconds = window.total_seconds()
    clock.advance(timedelta(seconds=seconds - now().timestamp() % seconds + 1))


def bearer_path(url: str) -> str:
    """The path of a download link without its signature: it opens with a bearer header only."""
    return urlsplit(url).path
