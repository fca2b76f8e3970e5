"""Enums a member sees carry a label in the caller's language: the words of the SMS."""

from datetime import timedelta

import pytest

from kabinet.clock import now
from kabinet.labels import LABELS
from tests.policies import PHONE, staff_token
from tests.requests_support import callback, change_status, customer
from tests.subscriptions import next_message, subscribed
from tests.support import Api, Mailbox, SmsGateway

ENUM_LABELS = """{
  enumLabels {
    requestStatus { value label }
    requestKind { value label }
    policyStatus { value label }
    relationship { value label }
    benefitKind { value label }
  }
}"""

MINE = """{
  me {
    policies { status statusLabel relationship relationshipLabel }
    requests(first: 1) {
      edges { node { kind kindLabel status statusLabel history { status statusLabel } } }
    }
  }
}"""

EVENTS = "subscription { requestUpdated { status statusLabel } }"


@pytest.mark.parametrize("enum", list(LABELS))
def test_every_member_of_a_labelled_enum_has_a_label(enum: type):
    assert LABELS[enum].keys() == set(enum)


async def test_anyone_gets_every_label_in_their_language(api: Api):
    ukrainian = await api.data(ENUM_LABELS)
    english = await api.data(ENUM_LABELS, headers={"Accept-Language": "en"})

    assert ukrainian["enumLabels"]["requestStatus"][:3] == [
        {"value": "SUBMITTED", "label": "Подано"},
        {"value": "IN_PROGRESS", "label": "У роботі"},
        {"value": "NEEDS_INFO", "label": "Потрібна інформація від вас"},
    ]
    assert english["enumLabels"]["requestKind"][0] == {
        "value": "DOCTOR_APPOINTMENT",
        "label": "Doctor appointment",
    }
    assert english["enumLabels"]["policyStatus"] == [
        {"value": "ACTIVE", "label": "Active"},
        {"value": "SUSPENDED", "label": "Suspended"},
        {"value": "EXPIRED", "label": "Expired"},
    ]
    assert english["enumLabels"]["benefitKind"][-1] == {
        "value": "REIMBURSEMENT",
        "label": "Reimbursement of medical costs",
    }
    assert [row["value"] for row in ukrainian["enumLabels"]["relationship"]] == [
        "SELF",
        "CHILD",
        "SPOUSE",
        "OTHER",
    ]


async def test_a_member_reads_the_words_of_the_sms_beside_each_value(
    api: Api, mailbox: Mailbox, sms_gateway: SmsGateway
):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)
    await change_status(api, operator, request["id"], "IN_PROGRESS")
    when = (now() + timedelta(days=1)).isoformat()
    await change_status(api, operator, request["id"], "SCHEDULED", scheduledAt=when)

    (sms,) = await sms_gateway.wait_for(PHONE)
    me = (await api.data(MINE, token=token))["me"]

    node = me["requests"]["edges"][0]["node"]
    assert node["status"] == "SCHEDULED"
    assert node["statusLabel"] == "Заплановано"
    assert f": {node['statusLabel'].lower()}." in sms["text"]  # the SMS's very word
    assert node["kindLabel"] == "Зворотний дзвінок"
    assert [change["statusLabel"] for change in node["history"]] == [
        "Подано",
        "У роботі",
        "Заплановано",
    ]
    assert me["policies"] == [
        {
            "status": "ACTIVE",
            "statusLabel": "Діє",
            "relationship": "SELF",
            "relationshipLabel": "Ви",
        }
    ]
    await api.data("mutation { updateProfile(input: {locale: EN}) { __typename } }", token=token)
    english = (await api.data(MINE, token=token))["me"]
    assert english["requests"]["edges"][0]["node"]["statusLabel"] == "Scheduled"
    assert english["policies"][0]["relationshipLabel"] == "You"


async def test_a_live_status_change_carries_its_label(api: Api, mailbox: Mailbox, server: str):
    token = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    request = await callback(api, token)

    async with subscribed(server, token, EVENTS) as socket:
        await change_status(api, operator, request["id"], "IN_PROGRESS")
        event = await next_message(socket)

    assert event["payload"]["data"]["requestUpdated"] == {
        "status": "IN_PROGRESS",
        "statusLabel": "У роботі",
    }
