"""Open WebSockets: limits per account and per address, and closing (4403) when the
session ends, pushed in this process and found by one query from another."""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import websockets
from starlette.applications import Starlette

from kabinet.app import create_app
from kabinet.clock import now
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import SessionDocument, UserDocument
from tests.accounts import login, signed_up
from tests.conftest import serve_on_loopback
from tests.operations import CHANGE_PASSWORD, DELETE_ACCOUNT, REQUEST_PASSWORD_RESET, RESET_PASSWORD
from tests.subscriptions import UPDATED, subscribed
from tests.support import PASSWORD, Api, CommandLog, Mailbox, link_token

EMAIL = "olena@example.com"
NEW_PASSWORD = "Brand-new-pass-3"


def ws_url(server: str) -> str:
    return server.replace("http://", "ws://") + "/graphql"


async def close_of(ws: websockets.ClientConnection, seconds: float = 5) -> tuple[int, str]:
    """The code and reason the server closes ``ws`` with (it must, within ``seconds``)."""
    async with asyncio.timeout(seconds):
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    assert ws.close_code is not None, "closed without a close frame"
    return ws.close_code, ws.close_reason or ""


async def answers_ping(ws: websockets.ClientConnection) -> bool:
    await ws.send(json.dumps({"type": "ping"}))
    async with asyncio.timeout(5):
        return json.loads(await ws.recv())["type"] == "pong"


# ---- every way a session ends, pushed by the process that ended it


async def logout(api: Api, mailbox: Mailbox, token: str, other: str) -> None:
    assert (await api.data("mutation { logout }", token=token))["logout"] is True


async def logout_everywhere(api: Api, mailbox: Mailbox, token: str, other: str) -> None:
    assert (await api.data("mutation { logoutEverywhere }", token=other))["logoutEverywhere"]


async def change_password(api: Api, mailbox: Mailbox, token: str, other: str) -> None:
    """From the other session, which stays: the password change ends all the rest."""
    variables = {
        "input": {
            "currentPassword": PASSWORD,
            "password": NEW_PASSWORD,
            "passwordConfirmation": NEW_PASSWORD,
        }
    }
    changed = await api.data(CHANGE_PASSWORD, variables, token=other)
    assert changed["changePassword"]["__typename"] == "Accepted"


async def reset_password(api: Api, mailbox: Mailbox, token: str, other: str) -> None:
    mailbox.messages.clear()
    await api.data(REQUEST_PASSWORD_RESET, {"input": {"email": EMAIL}})
    link = link_token(await mailbox.wait_for(EMAIL, "Зміна пароля"))
    variables = {
        "input": {"token": link, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD}
    }
    reset = await api.data(RESET_PASSWORD, variables)
    assert reset["resetPassword"]["__typename"] == "AuthSuccess"


async def delete_account(api: Api, mailbox: Mailbox, token: str, other: str) -> None:
    deleted = await api.data(DELETE_ACCOUNT, {"input": {"password": PASSWORD}}, token=other)
    assert deleted["deleteAccount"]["__typename"] == "Accepted"


Ending = Callable[[Api, Mailbox, str, str], Awaitable[None]]


@pytest.mark.parametrize(
    "ending", [logout, logout_everywhere, change_password, reset_password, delete_account]
)
async def test_every_way_a_session_ends_closes_its_sockets_with_4403(
    api: Api, mailbox: Mailbox, server: str, ending: Ending
):
    token = await signed_up(api, mailbox, EMAIL)
    other = (await login(api, EMAIL))["token"]

    async with subscribed(server, token, UPDATED) as ws:
        await ending(api, mailbox, token, other)
        code, reason = await close_of(ws)

    assert (code, reason) == (4403, "Сеанс завершено; увійдіть знову.")


@pytest.mark.parametrize("ending", [logout, change_password])
async def test_the_sockets_of_sessions_that_live_on_stay_open(
    api: Api, mailbox: Mailbox, server: str, ending: Ending
):
    token = await signed_up(api, mailbox, EMAIL)
    other = (await login(api, EMAIL))["token"]

    async with (
        subscribed(server, token, UPDATED) as ended,
        subscribed(server, other, UPDATED) as kept,
    ):
        await ending(api, mailbox, token, other)
        assert (await close_of(ended))[0] == 4403
        assert await answers_ping(kept)


async def test_a_logout_everywhere_over_a_socket_closes_it_and_the_others(
    api: Api, mailbox: Mailbox, server: str, caplog: pytest.LogCaptureFixture
):
    token = await signed_up(api, mailbox, "self@example.com")
    other = (await login(api, "self@example.com"))["token"]
    async with (
        subscribed(server, token, UPDATED) as asking,
        subscribed(server, other, UPDATED) as ws,
    ):
        mutation = {"query": "mutation { logoutEverywhere }"}
        await asking.send(json.dumps({"id": "out", "type": "subscribe", "payload": mutation}))
        codes = [(await close_of(asking))[0], (await close_of(ws))[0]]

    assert codes == [4403, 4403]
    assert (await api.data("{ me { email } }", token=token))["me"] is None
    # The logout's own answer is dropped quietly, not sent on the closed socket.
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


# ---- a second application on the same database stands for another API process


@dataclass(frozen=True, slots=True)
class Process:
    url: str
    app: Starlette


LIMITS = {
    "ws_max_sockets_per_account": 2,
    "ws_max_sockets_per_ip": 3,
    "ws_max_subscriptions_per_account": 3,
    "ws_max_subscriptions_per_ip": 4,
    "ws_session_check_seconds": 0.1,
}


@pytest.fixture
async def other_process(
    server: str, settings: Settings, database: Database
) -> AsyncIterator[Process]:
    """Another API process with small limits and a quick session check (``LIMITS``)."""
    app = create_app(settings.model_copy(update=LIMITS), database=database)
    instance, task, port = await serve_on_loopback(app)
    yield Process(f"http://127.0.0.1:{port}", app)
    instance.should_exit = True
    await task


async def open_socket(url: str, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(ws_url(url), subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    return ws


async def acknowledged(ws: websockets.ClientConnection) -> bool:
    async with asyncio.timeout(5):
        return json.loads(await ws.recv())["type"] == "connection_ack"


async def subscribe(ws: websockets.ClientConnection, operation_id: str) -> dict | None:
    """Subscribes; the refusal if one comes at once (its `complete` read too), else None
    (the subscription runs)."""
    payload = {"query": UPDATED, "variables": {}}
    await ws.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))
    try:
        async with asyncio.timeout(0.5):
            refusal = json.loads(await ws.recv())
    except TimeoutError:
        return None
    assert json.loads(await ws.recv()) == {"id": operation_id, "type": "complete"}
    return refusal


async def signed_in_socket(
    url: str, token: str, protocol: str = "graphql-transport-ws"
) -> tuple[websockets.ClientConnection, dict]:
    """A socket after `connection_init`, and the server's first answer (ack or refusal)."""
    ws = await websockets.connect(ws_url(url), subprotocols=[protocol])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    try:
        async with asyncio.timeout(5):
            return ws, json.loads(await ws.recv())
    except websockets.ConnectionClosed:
        return ws, {}


async def test_sockets_over_the_limits_are_refused_and_others_still_connect(
    api: Api, mailbox: Mailbox, other_process: Process
):
    greedy = await signed_up(api, mailbox, EMAIL)
    neighbour = await signed_up(api, mailbox, "taras@example.com")
    opened: list[websockets.ClientConnection] = []

    async def connect(token: str) -> websockets.ClientConnection:
        ws, answer = await signed_in_socket(other_process.url, token)
        opened.append(ws)
        assert answer.get("type") in (None, "connection_ack")
        return ws

    try:
        first, _ = await connect(greedy), await connect(greedy)
        refused_account = await close_of(await connect(greedy))
        # Another account behind the same address still gets in, up to the address's limit.
        assert (await connect(neighbour)).state is websockets.State.OPEN
        refused_ip = await close_of(await connect(neighbour))
        # A socket that closes frees its place.
        await first.close()
        assert (await connect(greedy)).state is websockets.State.OPEN
    finally:
        for ws in opened:
            await ws.close()

    assert refused_account == (4429, "Забагато відкритих з’єднань (2); закрийте зайві.")
    assert refused_ip == (4429, "Забагато відкритих з’єднань (3); закрийте зайві.")


async def test_the_legacy_protocol_is_refused_with_a_connection_error(
    api: Api, mailbox: Mailbox, other_process: Process
):
    token = await signed_up(api, mailbox, EMAIL)
    answers, opened = [], []
    try:
        for _ in range(3):
            ws, answer = await signed_in_socket(other_process.url, token, "graphql-ws")
            opened.append(ws)
            answers.append(answer)
        code, _ = await close_of(opened[2])
    finally:
        for ws in opened:
            await ws.close()

    assert [answer["type"] for answer in answers] == [
        "connection_ack",
        "connection_ack",
        "connection_error",
    ]
    assert answers[2]["payload"]["code"] == "TOO_MANY_CONNECTIONS"
    assert code == 4429


async def test_subscriptions_over_the_limits_are_refused_and_others_still_subscribe(
    api: Api, mailbox: Mailbox, other_process: Process
):
    greedy = await signed_up(api, mailbox, EMAIL)
    neighbour = await signed_up(api, mailbox, "taras@example.com")
    a, _ = await signed_in_socket(other_process.url, greedy)
    b, _ = await signed_in_socket(other_process.url, neighbour)
    async with a, b:
        assert [await subscribe(a, str(n)) for n in range(3)] == [None, None, None]
        over_account = await subscribe(a, "3")
        assert await subscribe(b, "1") is None  # another account: the address has room for one
        over_ip = await subscribe(b, "2")
        # Ending a subscription frees its place.
        await a.send(json.dumps({"id": "0", "type": "complete"}))
        again = await subscribe(a, "4")

    assert over_account is not None
    assert over_account["id"] == "3"
    error = over_account["payload"]["errors"][0]
    assert error["extensions"] == {"code": "TOO_MANY_SUBSCRIPTIONS", "limit": 3}
    assert error["message"] == ("Забагато підписок (3); завершіть зайві, перш ніж відкривати нові.")
    assert over_ip is not None
    assert over_ip["payload"]["errors"][0]["extensions"]["limit"] == 4
    assert again is None


@pytest.mark.parametrize("ended_by", ["session-deleted", "account-deleting"])
async def test_a_session_ended_in_another_process_closes_the_socket_with_4403(
    api: Api, mailbox: Mailbox, other_process: Process, ended_by: str
):
    token = await signed_up(api, mailbox, EMAIL)
    async with subscribed(other_process.url, token, UPDATED) as ws:
        # What another process's logout or deleteAccount leaves in the database.
        if ended_by == "session-deleted":
            await SessionDocument.get_pymongo_collection().delete_many({})
        else:
            await UserDocument.get_pymongo_collection().update_one(
                {"email": EMAIL}, {"$set": {"deleting_since": now()}}
            )
        code, _ = await close_of(ws)

    assert code == 4403


@pytest.mark.parametrize("sockets", [1, 3])
async def test_one_check_of_every_open_socket_costs_two_queries(
    api: Api, mailbox: Mailbox, other_process: Process, command_log: CommandLog, sockets: int
):
    tokens = [await signed_up(api, mailbox, f"person{n}@example.com") for n in range(sockets)]
    opened = [(await signed_in_socket(other_process.url, token))[0] for token in tokens]
    try:
        for ws in opened:
            assert await subscribe(ws, "s") is None
        start = len(command_log.commands)
        await other_process.app.state.services.sockets.check_sessions()
        checks = command_log.during_request(start)
        # Idle subscriptions cost nothing but the periodic check (a background task): idle
        # for five of its rounds (half a second), seen in the same log that would show them.
        start = len(command_log.commands)
        await command_log.until_rounds(
            "socket-sessions", ("find", "sessions"), since=start, rounds=5
        )
        idle = command_log.during_request(start)
    finally:
        for ws in opened:
            await ws.close()

    assert checks == [("find", "sessions"), ("find", "users")]
    assert idle == []
