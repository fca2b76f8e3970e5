"""Status changes reach the person by SMS or email, once per change."""

from datetime import timedelta

from kabinet.clock import now
from kabinet.config import Settings
from kabinet.documents import OutboxMessageDocument, RequestDocument
from kabinet.resolvers.notifications import announce
from kabinet.services import Services
from tests.operations import CHANGE_STATUS
from tests.policies import PHONE, staff_token
from tests.requests_support import callback, customer
from tests.support import Api, Mailbox, SmsGateway, body_of

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
    assert "в роботі" in body_of(email)
    assert sms_gateway.to(PHONE) == []


async def test_filing_cannot_be_announced(api: Api, mailbox: Mailbox):
    token = await customer(api, mailbox)
    refused = await api.data(SETTINGS, {"input": {"sms": ["SUBMITTED"], "email": []}}, token=token)
    assert refused["updateNotificationSettings"]["fields"] == [
        {"field": "sms", "code": "STATUS_NOT_ANNOUNCED"}
    ]


async def test_each_change_is_announced_once_however_often_it_is_processed(
    api: Api, mailbox: Mailbox, settings: Settings
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    await change(api, operator, request["id"], "REJECTED", comment="Не покривається програмою")
    stored = await RequestDocument.find_one({})
    services = Services.of(settings)

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
