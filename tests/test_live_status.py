"""Live request status over WebSocket subscriptions (graphql-transport-ws)."""

import asyncio
import json
import os

import pytest
import websockets
from beanie import PydanticObjectId

from kabinet.clock import now
from kabinet.documents import RequestStatus
from kabinet.documents.request import StatusChange
from kabinet.events import Broker, StatusEvent, SubscriberTooSlow
from tests.operations import ADD_COMMENT, CHANGE_STATUS
from tests.policies import staff_token
from tests.requests_support import callback, customer
from tests.subscriptions import QUEUE, UPDATED, next_message, nothing_within, subscribed
from tests.support import Api, Mailbox


async def change(api: Api, operator: str, request_id: str, status: str) -> None:
    variables = {"input": {"requestId": request_id, "status": status}}
    result = await api.data(CHANGE_STATUS, variables, token=operator)
    assert result["changeRequestStatus"]["status"] == status


async def test_owner_receives_the_operators_status_change(api: Api, mailbox: Mailbox, server: str):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")

    async with subscribed(server, token, UPDATED) as ws:
        request = await callback(api, token)
        filed = await next_message(ws)
        await change(api, operator, request["id"], "IN_PROGRESS")
        changed = await next_message(ws)

    assert filed["payload"]["data"]["requestUpdated"]["previousStatus"] is None
    assert changed["type"] == "next"
    event = changed["payload"]["data"]["requestUpdated"]
    assert event["previousStatus"] == "SUBMITTED"
    assert event["request"] == {"number": request["number"], "status": "IN_PROGRESS"}


async def test_another_customer_receives_nothing(api: Api, mailbox: Mailbox, server: str):
    token = await customer(api, mailbox)
    stranger = await customer(api, mailbox, "stranger@example.com", "+380501112233")
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    watched = {"id": request["id"]}

    async with (
        subscribed(server, token, UPDATED, watched) as owners,
        subscribed(server, stranger, UPDATED) as ws,
    ):
        await change(api, operator, request["id"], "IN_PROGRESS")
        await next_message(owners)  # published: its owner has it
        assert await nothing_within(ws, 1.0)
        # The control: the same wait on the same socket sees the stranger's own request.
        await callback(api, stranger)
        assert not await nothing_within(ws, 1.0)
    async with (
        subscribed(server, token, UPDATED, watched) as owners,
        subscribed(server, stranger, UPDATED, watched) as ws,
    ):
        await change(api, operator, request["id"], "NEEDS_INFO")
        await next_message(owners)
        assert await nothing_within(ws, 1.0)


async def test_operators_follow_the_whole_queue(api: Api, mailbox: Mailbox, server: str):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")

    async with subscribed(server, operator, QUEUE) as ws:
        request = await callback(api, token)
        filed = await next_message(ws)

    assert filed["payload"]["data"]["requestQueueUpdated"] == {
        "previousStatus": None,
        "request": {"number": request["number"], "status": "SUBMITTED"},
    }


async def test_queue_is_refused_to_customers(api: Api, mailbox: Mailbox, server: str):
    token = await customer(api, mailbox)
    async with subscribed(server, token, QUEUE, refused=True) as ws:
        message = await next_message(ws)
    # Refused before the stream starts (the field's permission): graphql-transport-ws's
    # `error` message, which a graphql-ws client hands to the sink's `error`.
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_logout_ends_the_subscription_and_closes_the_socket(
    api: Api, mailbox: Mailbox, server: str
):
    token = await customer(api, mailbox)

    async with subscribed(server, token, UPDATED) as ws:
        await api.data("mutation { logout }", token=token)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await next_message(ws, seconds=5)

    assert closed.value.rcvd.code == 4403


def event(user: PydanticObjectId) -> StatusEvent:
    return StatusEvent(
        change=StatusChange(status=RequestStatus.IN_PROGRESS, at=now(), by_operator=True),
        request_id=PydanticObjectId(),
        user_id=user,
        request=None,  # type: ignore[arg-type] - the broker does not look inside
        previous_status=RequestStatus.SUBMITTED,
    )


async def test_a_slow_subscriber_is_dropped_without_holding_up_others():
    broker = Broker(capacity=2)
    user = PydanticObjectId()
    async with broker.subscribe(lambda _: True) as slow, broker.subscribe(lambda _: True) as fast:
        received = []
        for _ in range(3):
            broker.publish(event(user))
            received.append(await anext(fast))
        assert len(received) == 3
        assert broker.subscribers == 1
        await anext(slow)
        await anext(slow)
        with pytest.raises(SubscriberTooSlow):
            await anext(slow)


RESUME = """subscription($since: DateTime) {
  requestUpdated(since: $since) { previousStatus at request { number status } }
}"""


async def test_reconnecting_with_the_last_event_time_loses_nothing(
    api: Api, mailbox: Mailbox, server: str
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")

    async with subscribed(server, token, UPDATED) as ws:
        request = await callback(api, token)
        last_seen = (await next_message(ws))["payload"]["data"]["requestUpdated"]["at"]
    # Offline: two changes happen.
    await change(api, operator, request["id"], "IN_PROGRESS")
    await change(api, operator, request["id"], "NEEDS_INFO")

    async with subscribed(server, token, RESUME, {"since": last_seen}) as ws:
        replayed = [await next_message(ws), await next_message(ws)]
        await change(api, operator, request["id"], "IN_PROGRESS")
        live = await next_message(ws)

    statuses = [
        (
            m["payload"]["data"]["requestUpdated"]["previousStatus"],
            m["payload"]["data"]["requestUpdated"]["request"]["status"],
        )
        for m in replayed
    ]
    assert [prev for prev, _ in statuses] == ["SUBMITTED", "IN_PROGRESS"]
    assert live["payload"]["data"]["requestUpdated"]["previousStatus"] == "NEEDS_INFO"


STORY = """subscription($since: DateTime) {
  requestUpdated(since: $since) {
    status previousStatus at byOperator comment
    request { number status history { status at } comments { text } }
  }
}"""


async def test_a_replay_tells_each_change_as_a_live_subscriber_heard_it(
    api: Api, mailbox: Mailbox, server: str
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    await change(api, operator, request["id"], "IN_PROGRESS")
    before = now().isoformat()

    async with subscribed(server, token, STORY, {"since": before}) as ws:
        variables = {"input": {"requestId": request["id"], "status": "NEEDS_INFO"}}
        variables["input"]["comment"] = "Додайте фото поліса"
        assert "errors" not in await api.post(CHANGE_STATUS, variables, token=operator)
        answer = {"input": {"requestId": request["id"], "text": "Ось фото"}}
        assert "errors" not in await api.post(ADD_COMMENT, answer, token=token)
        await change(api, operator, request["id"], "APPROVED")
        heard_live = [await next_message(ws) for _ in range(3)]
    async with subscribed(server, token, STORY, {"since": before}) as ws:
        replayed = [await next_message(ws) for _ in range(3)]

    assert replayed == heard_live
    story = [m["payload"]["data"]["requestUpdated"] for m in replayed]
    assert [(e["previousStatus"], e["status"], e["byOperator"]) for e in story] == [
        ("IN_PROGRESS", "NEEDS_INFO", True),
        ("NEEDS_INFO", "IN_PROGRESS", False),  # the person's answer resumed the work
        ("IN_PROGRESS", "APPROVED", True),
    ]
    assert [e["request"]["status"] for e in story] == ["NEEDS_INFO", "IN_PROGRESS", "APPROVED"]
    assert [len(e["request"]["history"]) for e in story] == [3, 4, 5]
    assert story[0]["comment"] == "Додайте фото поліса"
    assert [len(e["request"]["comments"]) for e in story] == [0, 1, 1]


async def test_the_npm_graphql_ws_client_receives_status_changes(
    api: Api, mailbox: Mailbox, server: str, project_root
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    since = now().isoformat()
    document = (
        f'subscription {{ requestUpdated(since: "{since}") '
        "{ previousStatus request { number status } } }"
    )
    node = await asyncio.create_subprocess_exec(
        "node",
        str(project_root / "tests" / "node" / "subscribe.cjs"),
        server.replace("http://", "ws://") + "/graphql",
        token,
        document,
        env={**os.environ, "NODE_PATH": str(project_root / "web" / "node_modules")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await change(api, operator, request["id"], "IN_PROGRESS")
    output, errors = await asyncio.wait_for(node.communicate(), 30)

    assert node.returncode == 0, errors.decode()
    assert json.loads(output)["data"]["requestUpdated"] == {
        "previousStatus": "SUBMITTED",
        "request": {"number": request["number"], "status": "IN_PROGRESS"},
    }
