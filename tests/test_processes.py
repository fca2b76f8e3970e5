"""Two API processes on one database: a change made through either reaches the other."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import websockets

from tests.support import free_port
from tests.test_cli import run_cli, serving
from tests.test_live_status import next_message

LOGIN = """mutation($email: String!) {
  login(input: {email: $email, password: "Demo-pass-1"}) { ... on AuthSuccess { token } }
}"""
FILE = """mutation {
  createRequest(input: {callback: {topic: "Два процеси"}}) { ... on Request { id number } }
}"""
CHANGE = """mutation($id: ID!, $status: RequestStatus!) {
  changeRequestStatus(input: {requestId: $id, status: $status}) { ... on Request { status } }
}"""
WATCH = """subscription($id: ID, $since: DateTime) {
  requestUpdated(requestId: $id, since: $since) { request { number status } }
}"""


async def gql(http: httpx.AsyncClient, query: str, token: str | None = None, **variables) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def first_event_on(
    listener: httpx.AsyncClient, token: str, request_id: str, since: datetime
) -> dict:
    url = str(listener.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        variables = {"id": request_id, "since": since.isoformat()}
        payload = {"query": WATCH, "variables": variables}
        await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": payload}))
        message = await next_message(ws, seconds=10)
    return message["payload"]["data"]["requestUpdated"]["request"]


async def test_a_change_through_either_process_reaches_a_subscriber_on_the_other(tmp_path: Path):
    db_port = free_port()
    polling = {"events_poll_seconds": "0.1"}
    async with serving(tmp_path / "a", embedded_port=str(db_port), **polling) as process_a:
        uri = f"mongodb://127.0.0.1:{db_port}/?directConnection=true"
        code, output = await run_cli("seed-demo", mongodb_uri=uri)
        assert code == 0, output
        async with serving(tmp_path / "b", mongodb_uri=uri, **polling) as process_b:
            customer = (await gql(process_a, LOGIN, email="demo@example.com"))["login"]["token"]
            operator = (await gql(process_b, LOGIN, email="operator@example.com"))["login"]["token"]
            request = (await gql(process_a, FILE, customer))["createRequest"]

            for listener, writer, status in (
                (process_b, process_a, "IN_PROGRESS"),
                (process_a, process_b, "APPROVED"),
            ):
                # Subscribing with `since` replays what the other process wrote: no race.
                before = datetime.now(UTC) - timedelta(milliseconds=1)
                await gql(writer, CHANGE, operator, id=request["id"], status=status)
                seen = await first_event_on(listener, customer, request["id"], before)
                assert seen == {"number": request["number"], "status": status}
