"""GraphQL over WebSocket: both protocols, signed in through connection_init."""

import json

import pytest
import websockets

from tests.accounts import signed_up
from tests.support import Api, Mailbox

ME_QUERY = "{ me { email } passwordPolicy { minLength } }"


def ws_url(server: str) -> str:
    return server.replace("http://", "ws://") + "/graphql"


async def transport_ws_operation(
    ws: websockets.ClientConnection, operation_id: str, query: str
) -> dict:
    """One query or mutation over an acknowledged socket; its payload."""
    await ws.send(
        json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": query}})
    )
    message = json.loads(await ws.recv())
    assert message["type"] == "next", message
    assert json.loads(await ws.recv()) == {"id": operation_id, "type": "complete"}
    return message["payload"]


async def transport_ws_query(server: str, payload: dict, query: str) -> dict:
    async with websockets.connect(ws_url(server), subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        return await transport_ws_operation(ws, "1", query)


async def test_a_connection_without_a_session_is_refused(server: str):
    async with websockets.connect(ws_url(server), subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4403


@pytest.mark.parametrize("style", ["token", "authorization"])
async def test_connection_init_signs_in(server: str, api: Api, mailbox: Mailbox, style: str):
    token = await signed_up(api, mailbox, "ws@example.com")
    init = {"token": token} if style == "token" else {"Authorization": f"Bearer {token}"}

    payload = await transport_ws_query(server, init, ME_QUERY)

    assert payload["data"]["me"] == {"email": "ws@example.com"}


async def test_connection_with_an_invalid_token_is_refused(server: str):
    async with websockets.connect(ws_url(server), subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": "bogus"}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4403


async def test_legacy_graphql_ws_protocol_is_spoken(server: str, api: Api, mailbox: Mailbox):
    """The legacy protocol carries subscriptions only; here its handshake and sign-in."""
    token = await signed_up(api, mailbox, "legacy@example.com")
    async with websockets.connect(ws_url(server), subprotocols=["graphql-ws"]) as ws:
        assert ws.subprotocol == "graphql-ws"
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
    async with websockets.connect(ws_url(server), subprotocols=["graphql-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": "bogus"}}))
        refused = json.loads(await ws.recv())
        assert refused["type"] == "connection_error"


async def test_a_session_ended_elsewhere_closes_the_open_socket(
    server: str, api: Api, mailbox: Mailbox
):
    token = await signed_up(api, mailbox, "socket@example.com")
    async with websockets.connect(ws_url(server), subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        assert (await transport_ws_operation(ws, "1", ME_QUERY))["data"]["me"] == {
            "email": "socket@example.com"
        }

        await api.data("mutation { logout }", token=token)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await transport_ws_operation(ws, "2", ME_QUERY)

    assert closed.value.rcvd.code == 4403


@pytest.mark.parametrize(
    "origin",
    [
        pytest.param("http://cabinet.test", id="allowed-origin"),
        pytest.param(None, id="no-origin-a-non-browser-client"),
    ],
)
async def test_an_allowed_origin_or_none_opens_a_socket(
    server: str, api: Api, mailbox: Mailbox, origin: str | None
):
    token = await signed_up(api, mailbox, "origin@example.com")
    async with websockets.connect(
        ws_url(server), origin=origin, subprotocols=["graphql-transport-ws"]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"


async def test_a_page_on_another_origin_cannot_open_a_socket(server: str):
    """Browsers apply no CORS to WebSockets: the Origin check stops cross-site hijacking."""
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(
            ws_url(server), origin="https://evil.example", subprotocols=["graphql-transport-ws"]
        ):
            pass
    assert refused.value.response.status_code == 403
