"""Subscriptions over Server-Sent Events (`/graphql/stream`, the graphql-sse protocol):
both modes with the npm `graphql-sse` client, and the protocol's edges with httpx."""

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from kabinet.app import create_app
from kabinet.clock import now
from kabinet.config import Settings
from kabinet.db import Database
from tests.conftest import serve_on_loopback
from tests.operations import ADD_COMMENT, CHANGE_STATUS, LOGOUT
from tests.policies import staff_token
from tests.requests_support import callback, customer
from tests.subscriptions import UPDATED, one_more_subscription, running_subscriptions
from tests.support import PASSWORD, Api, Mailbox
from tests.test_cli import create_operator, serving
from tests.test_live_fanout import HEAVY, subscriptions_open
from tests.test_live_status import change
from tests.test_read_scopes import OTHER_PHONE

STATUS = (
    "subscription($since: DateTime) { requestUpdated(since: $since) "
    "{ previousStatus request { number status } } }"
)
PATH = "/graphql/stream"
STREAM = {"Accept": "text/event-stream", "Content-Type": "application/json"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Events:
    """An open event stream read as graphql-sse messages; comment lines are counted."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()
        self.comments = 0

    async def next(self, seconds: float = 5) -> tuple[str, dict | None]:
        event, data = "", ""
        async with asyncio.timeout(seconds):
            async for line in self.lines:
                if line.startswith(":"):
                    self.comments += 1
                elif line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data = line.removeprefix("data: ")
                elif line == "" and event:
                    return event, json.loads(data) if data else None
        raise EOFError("the stream ended")


@asynccontextmanager
async def streamed(
    http: httpx.AsyncClient, method: str, headers: dict[str, str], **kwargs: object
) -> AsyncIterator[Events]:
    async with http.stream(method, PATH, headers=headers, **kwargs) as response:  # type: ignore[arg-type]
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Events(response)


async def reserve(http: httpx.AsyncClient, token: str) -> str:
    reserved = await http.put(PATH, headers=bearer(token))
    assert reserved.status_code == 201
    return reserved.text


async def test_distinct_connections_mode_streams_a_status_change(
    api: Api, mailbox: Mailbox, server: str
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    before = await running_subscriptions(server)
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        body = {"query": STATUS}
        async with streamed(http, "POST", {**STREAM, **bearer(token)}, json=body) as events:
            await one_more_subscription(server, before)
            await change(api, operator, request["id"], "IN_PROGRESS")
            event, data = await events.next()

    assert event == "next"
    assert data == {
        "data": {
            "requestUpdated": {
                "previousStatus": "SUBMITTED",
                "request": {"number": request["number"], "status": "IN_PROGRESS"},
            }
        }
    }


async def test_single_connection_mode_streams_operations_by_id(
    api: Api, mailbox: Mailbox, server: str
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    before = await running_subscriptions(server)
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        stream_token = await reserve(http, token)
        headers = {**bearer(token), "X-GraphQL-Event-Stream-Token": stream_token}
        async with streamed(http, "GET", {**headers, "Accept": "text/event-stream"}) as events:
            body = {"query": STATUS, "extensions": {"operationId": "a"}}
            started = await http.post(PATH, headers=headers, json=body)
            assert started.status_code == 202
            await one_more_subscription(server, before)
            await change(api, operator, request["id"], "IN_PROGRESS")
            event, data = await events.next()
            stopped = await http.delete(PATH, params={"operationId": "a"}, headers=headers)

    assert event == "next"
    assert data is not None
    assert data["id"] == "a"
    assert data["payload"]["data"]["requestUpdated"]["request"]["status"] == "IN_PROGRESS"
    assert stopped.status_code == 200


@pytest.mark.parametrize("mode", ["distinct", "single"])
async def test_the_npm_graphql_sse_client_replays_then_streams_live(
    api: Api, mailbox: Mailbox, server: str, project_root: Path, mode: str
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    since = now().isoformat()
    await change(api, operator, request["id"], "IN_PROGRESS")  # before: replayed
    before = await running_subscriptions(server)
    node = await graphql_sse_client(project_root, server, token, STATUS, mode, 2, since)
    await one_more_subscription(server, before)
    await change(api, operator, request["id"], "NEEDS_INFO")  # live
    output, errors = await asyncio.wait_for(node.communicate(), 30)

    assert node.returncode == 0, errors.decode()
    heard = [result["data"]["requestUpdated"] for result in json.loads(output)]
    assert [(e["previousStatus"], e["request"]["status"]) for e in heard] == [
        ("SUBMITTED", "IN_PROGRESS"),
        ("IN_PROGRESS", "NEEDS_INFO"),
    ]


async def graphql_sse_client(
    project_root: Path,
    base: str,
    token: str,
    document: str,
    mode: str,
    count: int,
    since: str | None = None,
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "node",
        str(project_root / "tests" / "node" / "sse.cjs"),
        base + PATH,
        token,
        document,
        mode,
        str(count),
        json.dumps({"since": since} if since else {}),
        env={**os.environ, "NODE_PATH": str(project_root / "web" / "node_modules")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_the_npm_client_without_a_session_gets_401(server: str, project_root: Path):
    node = await graphql_sse_client(project_root, server, "", UPDATED, "distinct", 1)
    _, errors = await asyncio.wait_for(node.communicate(), 30)
    assert node.returncode == 1
    assert errors.decode().strip() == "status 401"


async def test_a_stream_needs_a_session_and_an_allowed_origin(
    api: Api, mailbox: Mailbox, server: str
):
    token = await customer(api, mailbox)
    body = {"query": UPDATED}
    before = await running_subscriptions(server)
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        anonymous = await http.post(PATH, headers=STREAM, json=body)
        ended = await http.post(PATH, headers={**STREAM, **bearer("not-a-session")}, json=body)
        foreign = await http.post(
            PATH,
            headers={**STREAM, **bearer(token), "Origin": "https://evil.example"},
            json=body,
        )
        english = await http.put(PATH, headers={"Accept-Language": "en"})

    assert anonymous.status_code == ended.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert anonymous.json()["errors"][0]["message"].startswith("Потоку подій потрібен сеанс")
    assert english.json()["errors"][0]["message"].startswith("An event stream needs a session")
    assert foreign.status_code == 403
    assert "Цей сайт не може" in foreign.json()["errors"][0]["message"]
    assert await running_subscriptions(server) == before


async def test_a_form_post_without_the_preflight_proof_is_refused(
    api: Api, mailbox: Mailbox, server: str
):
    token = await customer(api, mailbox)
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        forged = await http.post(
            PATH,
            headers={**bearer(token), "Accept": "text/event-stream", "Content-Type": "text/plain"},
            content=json.dumps({"query": UPDATED}),
        )
    assert forged.status_code == 400
    assert "GraphQL-Require-Preflight" in forged.json()["errors"][0]["message"]


async def test_the_protocols_edges(api: Api, mailbox: Mailbox, server: str):
    token = await customer(api, mailbox)
    other = await customer(api, mailbox, "taras@example.com", OTHER_PHONE)
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        stream_token = await reserve(http, token)
        headers = {**bearer(token), "X-GraphQL-Event-Stream-Token": stream_token}
        unknown = {**bearer(token), "X-GraphQL-Event-Stream-Token": "no-such-token"}
        not_reserved = await http.get(PATH, headers={**unknown, "Accept": "text/event-stream"})
        foreign = await http.get(
            PATH, headers={**headers, **bearer(other), "Accept": "text/event-stream"}
        )
        async with streamed(http, "GET", headers):
            twice = await http.get(PATH, headers=headers)
            no_id = await http.post(PATH, headers=headers, json={"query": UPDATED})
            body = {"query": UPDATED, "extensions": {"operationId": "a"}}
            assert (await http.post(PATH, headers=headers, json=body)).status_code == 202
            same_id = await http.post(PATH, headers=headers, json=body)
            unknown_id = await http.delete(PATH, params={"operationId": "b"}, headers=headers)
            missing_id = await http.delete(PATH, headers=headers)
            to_nowhere = await http.post(PATH, headers=unknown, json=body)
        neither = await http.get(PATH, headers=bearer(token))

    codes = {
        "not reserved": (not_reserved.status_code, 404),
        "another session's token": (foreign.status_code, 404),
        "opened twice": (twice.status_code, 409),
        "no operation id": (no_id.status_code, 400),
        "an id in use": (same_id.status_code, 409),
        "an unknown id": (unknown_id.status_code, 404),
        "no id to delete": (missing_id.status_code, 400),
        "a POST to no stream": (to_nowhere.status_code, 404),
        "neither mode": (neither.status_code, 400),
    }
    assert {case: got for case, (got, _) in codes.items()} == {
        case: expected for case, (_, expected) in codes.items()
    }
    assert "уже відкрито" in twice.json()["errors"][0]["message"]
    assert "немає операції" in unknown_id.json()["errors"][0]["message"]


async def signed_out_while_streaming(api: Api, token: str, stream_server: str) -> list:
    """What a stream on ``stream_server`` receives after its session ends through ``api``."""
    before = await running_subscriptions(stream_server)
    async with httpx.AsyncClient(base_url=stream_server, timeout=10) as http:
        body = {"query": UPDATED}
        async with streamed(http, "POST", {**STREAM, **bearer(token)}, json=body) as events:
            await one_more_subscription(stream_server, before)
            assert "errors" not in await api.post(LOGOUT, token=token)
            told = [await events.next(), await events.next()]
            with pytest.raises(EOFError):
                await events.next()
    return told


async def test_a_signed_out_session_ends_its_stream(api: Api, mailbox: Mailbox, server: str):
    token = await customer(api, mailbox)
    told, completed = await signed_out_while_streaming(api, token, server)

    assert told[0] == "next"
    assert told[1] is not None
    assert told[1]["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert told[1]["errors"][0]["message"] == "Сеанс завершено; увійдіть знову."
    assert completed == ("complete", None)


async def test_a_session_ended_through_another_process_ends_its_stream(
    api: Api, mailbox: Mailbox, limited: str
):
    token = await customer(api, mailbox)
    told, completed = await signed_out_while_streaming(api, token, limited)

    assert told[1] is not None
    assert told[1]["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert completed == ("complete", None)


LIMITS = {
    "ws_max_sockets_per_account": 2,
    "ws_max_subscriptions_per_account": 3,
    "sse_keep_alive_seconds": 0.05,
    "ws_subscriber_backlog": 2,
    "ws_session_check_seconds": 0.1,
}


@pytest.fixture
async def limited(server: str, settings: Settings, database: Database) -> AsyncIterator[str]:
    """Another API process with small limits, a short backlog and quick keep-alives."""
    app = create_app(settings.model_copy(update=LIMITS), database=database)
    instance, task, port = await serve_on_loopback(app)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    await task


async def test_streams_and_operations_count_against_the_socket_limits(
    api: Api, mailbox: Mailbox, limited: str
):
    token = await customer(api, mailbox)
    async with httpx.AsyncClient(base_url=limited, timeout=10) as http:
        first_token = await reserve(http, token)
        headers = {**bearer(token), "X-GraphQL-Event-Stream-Token": first_token}
        async with streamed(http, "GET", headers) as events:
            async with streamed(http, "POST", {**STREAM, **bearer(token)}, json={"query": UPDATED}):
                third = await http.put(PATH, headers=bearer(token))
                fourth = await http.post(
                    PATH, headers=STREAM | bearer(token), json={"query": UPDATED}
                )
            for operation_id in "abcd":
                body = {"query": UPDATED, "extensions": {"operationId": operation_id}}
                assert (await http.post(PATH, headers=headers, json=body)).status_code == 202
            refused = await events.next()
            # Kept alive while idle: comment lines, not events.
            while events.comments < 2:
                await _one_line(events)
        # The streams are gone: their places are free again.
        again = await http.put(PATH, headers=bearer(token))

    assert third.status_code == fourth.status_code == 429
    assert third.json()["errors"][0]["extensions"] == {"code": "TOO_MANY_CONNECTIONS"}
    assert "Забагато відкритих з’єднань (2)" in fourth.json()["errors"][0]["message"]
    assert refused[1] is not None
    assert refused[1]["id"] == "d"
    error = refused[1]["payload"]["errors"][0]
    assert error["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
    assert again.status_code == 201


async def _one_line(events: Events) -> None:
    async with asyncio.timeout(5):
        line = await anext(events.lines)
    if line.startswith(":"):
        events.comments += 1


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ("subscription {", "Syntax Error"),
        ("subscription { noSuchField }", "noSuchField"),
    ],
)
async def test_a_document_that_cannot_run_is_told_on_the_stream(
    api: Api, mailbox: Mailbox, server: str, document: str, error: str
):
    token = await customer(api, mailbox)
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        body = {"query": document}
        async with streamed(http, "POST", {**STREAM, **bearer(token)}, json=body) as events:
            told = await events.next()
            completed = await events.next()

    assert told[0] == "next"
    assert told[1] is not None
    assert "data" not in told[1]
    assert error in told[1]["errors"][0]["message"]
    assert completed == ("complete", None)


async def test_a_query_runs_too_as_the_websocket_runs_it(api: Api, mailbox: Mailbox, server: str):
    token = await customer(api, mailbox)
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        body = {"query": "{ me { email } }"}
        async with streamed(http, "POST", {**STREAM, **bearer(token)}, json=body) as events:
            answered = [await events.next(), await events.next()]

    assert answered == [
        ("next", {"data": {"me": {"email": "olena@example.com"}}}),
        ("complete", None),
    ]


async def test_a_stopping_server_ends_the_streams_it_still_holds(tmp_path: Path):
    await create_operator(tmp_path)
    server = contextlib.AsyncExitStack()
    http = await server.enter_async_context(serving(tmp_path))
    login = """mutation($email: String!, $password: String!) {
      login(input: {email: $email, password: $password}) { ... on AuthSuccess { token } }
    }"""
    variables = {"email": "operator@example.com", "password": PASSWORD}
    answer = await http.post("/graphql", json={"query": login, "variables": variables})
    token = answer.json()["data"]["login"]["token"]
    body = {"query": UPDATED}
    async with (
        httpx.AsyncClient(base_url=http.base_url, timeout=30) as client,
        streamed(client, "POST", {**STREAM, **bearer(token)}, json=body) as events,
    ):
        # Stopped (SIGINT) while the stream is open: `serving` fails unless the process
        # exits within its 15 s.
        await server.aclose()
        with pytest.raises((EOFError, httpx.RemoteProtocolError)):
            await events.next()


async def test_a_stream_whose_client_does_not_read_is_cut_off(
    api: Api, mailbox: Mailbox, limited: str
):
    """Its events back up the writer, the stream's queue, then the broker's, which gives
    up on it: nothing grows while the client reads nothing."""
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    for _ in range(30):  # every event carries them: a few events fill the socket's buffers
        answer = {"input": {"requestId": request["id"], "text": "ї" * 2000}}
        assert "errors" not in await api.post(ADD_COMMENT, answer, token=token)
    open_before = subscriptions_open()
    host, port = limited.removeprefix("http://").split(":")
    bare = socket.socket()
    bare.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # little room unread
    bare.connect((host, int(port)))
    bare.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=bare, limit=4096)
    body = json.dumps({"query": HEAVY}).encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Accept: text/event-stream\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    try:
        writer.write(head.encode() + body)
        while subscriptions_open() == open_before:  # noqa: ASYNC110 - the server's own count
            await asyncio.sleep(0.01)
        changes = 0
        while subscriptions_open() > open_before and changes < 100:
            status = ("IN_PROGRESS", "NEEDS_INFO")[changes % 2]
            variables = {"input": {"requestId": request["id"], "status": status}}
            answer = await api.data(CHANGE_STATUS, variables, token=operator)
            assert answer["changeRequestStatus"]["status"] == status
            changes += 1
        gave_up = subscriptions_open() == open_before
        received = b""
        async with asyncio.timeout(10):
            while gave_up and (chunk := await reader.read(65536)):
                received += chunk
    finally:
        writer.close()

    assert gave_up
    assert received.startswith(b"HTTP/1.1 200")
    assert 0 < received.count(b"event: next") < changes
    assert b"event: complete" not in received  # cut off, not ended
