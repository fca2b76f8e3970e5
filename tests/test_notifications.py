"""Status changes reach the person by SMS or email, once per change."""

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from pymongo import AsyncMongoClient

from kabinet.clock import now
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import OutboxMessageDocument, RequestDocument
from kabinet.resolvers.demo import DEMO_PHONE
from kabinet.resolvers.notifications import announce, announce_all_pending
from kabinet.services import Services
from tests.operations import CHANGE_STATUS
from tests.policies import PHONE, staff_token
from tests.requests_support import callback, customer
from tests.support import Api, Mailbox, SmsGateway, body_of, eventually, free_port
from tests.test_cli import run_cli, serving
from tests.test_processes import FILE, LOGIN, gql

SETTINGS = """mutation($input: NotificationSettingsInput!) {
  updateNotificationSettings(input: $input) {
    __typename
    ... on User { notificationSettings { sms email } }
    ... on InputError { fields { field code } }
  }
}"""


async def change(api: Api, operator: str, request_id: str, status: str, **extra: object) -> None:
    variables = {"input": {"requestId": request_id, "status": status, **extra}}
    result = await api.data(CHANGE_STATUS, variables, token=operator)
    assert result["changeRequestStatus"]["status"] == status


async def test_scheduling_is_announced_by_sms_by_default(
    api: Api, mailbox: Mailbox, sms_gateway: SmsGateway
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)

    await change(api, operator, request["id"], "IN_PROGRESS")
    when = (now() + timedelta(days=1)).isoformat()
    await change(
        api, operator, request["id"], "SCHEDULED", scheduledAt=when, comment="Зателефонуємо о 10:00"
    )

    (sms,) = await sms_gateway.wait_for(PHONE)
    assert sms["text"] == (
        f"Заявка {request['number']}: заплановано. Зателефонуємо о 10:00 Деталі в кабінеті."
    )
    assert await OutboxMessageDocument.find({"channel": "sms"}).count() == 1  # IN_PROGRESS is quiet


async def test_email_channel_and_defaults_can_be_chosen(
    api: Api, mailbox: Mailbox, sms_gateway: SmsGateway
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    chosen = await api.data(
        SETTINGS, {"input": {"sms": [], "email": ["IN_PROGRESS", "COMPLETED"]}}, token=token
    )
    assert chosen["updateNotificationSettings"]["notificationSettings"] == {
        "sms": [],
        "email": ["COMPLETED", "IN_PROGRESS"],
    }
    request = await callback(api, token)
    mailbox.messages.clear()

    await change(api, operator, request["id"], "IN_PROGRESS")

    email = await mailbox.wait_for("olena@example.com", request["number"])
    assert "у роботі" in body_of(email)
    assert sms_gateway.to(PHONE) == []


async def test_filing_cannot_be_announced(api: Api, mailbox: Mailbox):
    token = await customer(api, mailbox)
    refused = await api.data(SETTINGS, {"input": {"sms": ["SUBMITTED"], "email": []}}, token=token)
    assert refused["updateNotificationSettings"]["fields"] == [
        {"field": "sms", "code": "STATUS_NOT_ANNOUNCED"}
    ]


async def test_each_change_is_announced_once_however_often_it_is_processed(
    api: Api, mailbox: Mailbox, settings: Settings, database: Database
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    await change(api, operator, request["id"], "REJECTED", comment="Не покривається програмою")
    stored = await RequestDocument.find_one({})
    services = Services.of(settings, database)

    for _ in range(3):
        await announce(services, stored, stored.history[-1])

    assert await OutboxMessageDocument.find({"channel": "sms"}).count() == 1


async def test_an_announcement_carries_the_id_of_the_request_that_changed_the_status(
    api: Api, mailbox: Mailbox
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    await change(api, operator, request["id"], "IN_PROGRESS")

    variables = {"input": {"requestId": request["id"], "status": "NEEDS_INFO"}}
    await api.data(
        CHANGE_STATUS, variables, token=operator, headers={"X-Request-ID": "operator-click-0001"}
    )

    sms = await OutboxMessageDocument.find_one({"channel": "sms"})
    assert sms.request_id == "operator-click-0001"


async def test_each_change_is_pulled_from_the_pending_list_once_announced(
    api: Api, mailbox: Mailbox, settings: Settings, database: Database, sms_gateway: SmsGateway
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    await change(api, operator, request["id"], "IN_PROGRESS")
    await change(api, operator, request["id"], "NEEDS_INFO", comment="Потрібне фото поліса")
    stored = await RequestDocument.find_one({})
    assert (stored.unannounced, stored.unannounced_since) == ([], None)

    # As a crash after the status update leaves it: the change pending, no message yet.
    await OutboxMessageDocument.find({}).delete()
    await RequestDocument.find_one({}).update(
        {"$push": {"unannounced": stored.history[-1].id}, "$set": {"unannounced_since": now()}}
    )
    services = Services.of(settings, database)
    assert await announce_all_pending(services) == 1
    assert await announce_all_pending(services) == 0

    stored = await RequestDocument.find_one({})
    assert (stored.unannounced, stored.unannounced_since) == ([], None)
    (sms,) = await OutboxMessageDocument.find({"channel": "sms"}).to_list()
    assert sms.dedupe_key == f"{stored.history[-1].id}:sms"
    assert "Потрібне фото поліса" in sms.body


async def test_a_status_sms_is_sent_once_although_the_server_died_right_after_the_update(
    tmp_path: Path, sms_gateway: SmsGateway
):
    db_port = str(free_port())
    uri = f"mongodb://127.0.0.1:{db_port}/?directConnection=true"
    gateway = {"sms_gateway_url": sms_gateway.url, "outbox_poll_seconds": "0.2"}
    async with serving(
        tmp_path, embedded_port=db_port, test_fault="after-status-update", **gateway
    ) as doomed:
        code, output = await run_cli("seed-demo", mongodb_uri=uri)
        assert code == 0, output
        customer_token = (await gql(doomed, LOGIN, email="demo@example.com"))["login"]
        operator_token = (await gql(doomed, LOGIN, email="operator@example.com"))["login"]
        request = (await gql(doomed, FILE, customer_token["token"]))["createRequest"]
        variables = {"input": {"requestId": request["id"], "status": "REJECTED"}}
        with pytest.raises(httpx.TransportError):  # the process exits inside the request
            await doomed.post(
                "/graphql",
                json={"query": CHANGE_STATUS, "variables": variables},
                headers={"Authorization": f"Bearer {operator_token['token']}"},
            )

    async with serving(tmp_path, embedded_port=db_port, **gateway):
        client: AsyncMongoClient = AsyncMongoClient(uri)
        database = client["kabinet"]

        async def status_messages() -> list[dict]:
            # The demo's coming-of-age card is announced at start too: not a status change.
            every = await database.outbox.find({"channel": "sms"}).to_list()
            return [m for m in every if not m["dedupe_key"].startswith("guardian:")]

        async def announced() -> bool:
            stored = await database.requests.find_one({"number": request["number"]})
            sent = [m for m in await status_messages() if m["status"] == "sent"]
            pending = stored["unannounced"], stored["unannounced_since"]
            return stored["status"] == "rejected" and pending == ([], None) and len(sent) == 1

        await eventually(announced)
        (message,) = await status_messages()
        await client.close()
    # The gateway also serves this session's other servers: their messages have other ids.
    (sms,) = [sms for sms in sms_gateway.messages if sms["id"] == str(message["_id"])]
    assert sms["to"] == DEMO_PHONE
    assert sms["text"].startswith(f"Заявка {request['number']}: відхилено")


def test_a_crash_point_cannot_be_set_in_production():
    with pytest.raises(ValidationError, match="KABINET_TEST_FAULT is for tests"):
        Settings(_env_file=None, env="production", test_fault="after-status-update")
    assert Settings(_env_file=None, test_fault="after-status-update").test_fault is not None
