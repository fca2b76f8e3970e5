"""Internal notes (issue 16 item 3): staff write them with `addComment(internal: true)`; the
member never gets them through a query, a live event, the data export, a file download
or a notification, and cannot write one."""

from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from strawberry import relay

from kabinet.documents import OutboxMessageDocument, RequestDocument
from kabinet.i18n import Locale, translate
from tests.operations import (
    ADD_COMMENT,
    ADD_INTERNAL_NOTE,
    CHANGE_STATUS,
    UPDATE_NOTIFICATION_SETTINGS,
)
from tests.policies import PHONE, staff_token
from tests.requests_support import PDF, callback, customer, multipart
from tests.subscriptions import next_message, subscribed
from tests.support import Api, Mailbox, SmsGateway, body_of, eventually
from tests.test_api_guide import operations as guide
from tests.test_privacy import export

NOTE = "Клієнт двічі не відповів, перевірити поліс"
ANSWER = "Ми вам передзвонимо"
COMMENTS = "comments { text internal byOperator attachments { filename url } }"
READ = f"query Read($id: ID!) {{ node(id: $id) {{ ... on Request {{ {COMMENTS} }} }} }}"
MINE = f"query Mine {{ me {{ requests(first: 2) {{ edges {{ node {{ {COMMENTS} }} }} }} }} }}"
QUEUE = f"query Queue {{ requestQueue(first: 2) {{ edges {{ node {{ {COMMENTS} }} }} }} }}"
LIVE = f"""subscription($id: ID) {{
  requestUpdated(requestId: $id) {{ status request {{ {COMMENTS} }} }}
}}"""
QUEUE_LIVE = f"subscription {{ requestQueueUpdated {{ status request {{ {COMMENTS} }} }} }}"


async def latest(mailbox: Mailbox, seen: int) -> EmailMessage | None:
    """The member's newest email once there are more than ``seen``."""
    received = mailbox.to("olena@example.com")
    return received[-1] if len(received) > seen else None


def texts(comments: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    return [(comment["text"], comment["internal"]) for comment in comments]


async def noted(api: Api, mailbox: Mailbox) -> tuple[str, str, dict[str, Any]]:
    """A member's request with an internal note (and its file) and an answer from staff."""
    member = await customer(api, mailbox)
    filed = await callback(api, member)
    operator = await staff_token(api, "operator@example.com", "operator")
    note = {"input": {"requestId": filed["id"], "text": NOTE, "internal": True}}
    response = await multipart(
        api,
        operator,
        ADD_COMMENT,
        {**note, "input": {**note["input"], "attachments": [None]}},
        {"variables.input.attachments.0": ("note.pdf", PDF)},
    )
    assert response.json()["data"]["addComment"]["__typename"] == "Request"
    answered = {"input": {"requestId": filed["id"], "text": ANSWER}}
    assert (await api.data(ADD_COMMENT, answered, token=operator))["addComment"]["id"]
    return member, operator, filed


async def test_staff_see_internal_notes_and_the_member_never_does(api: Api, mailbox: Mailbox):
    member, operator, filed = await noted(api, mailbox)

    for_staff = (await api.data(READ, {"id": filed["id"]}, token=operator))["node"]["comments"]
    assert texts(for_staff) == [(NOTE, True), (ANSWER, False)]
    queue = (await api.data(QUEUE, token=operator))["requestQueue"]["edges"]
    assert texts(queue[0]["node"]["comments"]) == [(NOTE, True), (ANSWER, False)]

    by_node = (await api.data(READ, {"id": filed["id"]}, token=member))["node"]["comments"]
    assert texts(by_node) == [(ANSWER, False)]
    listed = (await api.data(MINE, token=member))["me"]["requests"]["edges"]
    assert texts(listed[0]["node"]["comments"]) == [(ANSWER, False)]

    # The note's file: staff download it, its member (whose request it is) cannot.
    (url,) = [a["url"] for a in for_staff[0]["attachments"]]
    path = urlsplit(url).path
    staff_download = await api.http.get(path, headers={"Authorization": f"Bearer {operator}"})
    assert (staff_download.status_code, staff_download.content) == (200, PDF)
    member_download = await api.http.get(path, headers={"Authorization": f"Bearer {member}"})
    assert member_download.status_code == 404


async def test_the_data_export_leaves_internal_notes_out(api: Api, mailbox: Mailbox):
    member, _, _ = await noted(api, mailbox)

    data, text, files = await export(api, member)

    (request,) = data["requests"]
    assert [comment["text"] for comment in request["comments"]] == [ANSWER]
    assert NOTE not in text
    assert "note.pdf" not in text
    assert files == []
    # Its audit event (a staff comment, internal) is not the member's to read either.
    commented = [e for e in data["securityEvents"] if e["action"] == "REQUEST_COMMENTED"]
    assert [event["after"] for event in commented] == [{"attachments": 0, "internal": False}]


async def test_live_events_carry_internal_notes_to_staff_only(
    api: Api, mailbox: Mailbox, server: str
):
    member, operator, filed = await noted(api, mailbox)
    async with (
        subscribed(server, member, LIVE, {"id": filed["id"]}) as members,
        subscribed(server, operator, QUEUE_LIVE) as staffs,
    ):
        change = {"input": {"requestId": filed["id"], "status": "IN_PROGRESS"}}
        await api.data(CHANGE_STATUS, change, token=operator)
        for_member = (await next_message(members))["payload"]["data"]["requestUpdated"]
        for_staff = (await next_message(staffs))["payload"]["data"]["requestQueueUpdated"]
    assert texts(for_member["request"]["comments"]) == [(ANSWER, False)]
    assert texts(for_staff["request"]["comments"]) == [(NOTE, True), (ANSWER, False)]


async def test_notifications_never_carry_an_internal_note(
    api: Api, mailbox: Mailbox, sms_gateway: SmsGateway
):
    member = await customer(api, mailbox)
    filed = await callback(api, member)
    operator = await staff_token(api, "operator@example.com", "operator")
    settings = {"input": {"sms": ["NEEDS_INFO"], "email": ["NEEDS_INFO"]}}
    await api.data(UPDATE_NOTIFICATION_SETTINGS, settings, token=member)
    await api.data(
        CHANGE_STATUS,
        {"input": {"requestId": filed["id"], "status": "IN_PROGRESS"}},
        token=operator,
    )
    outbox = await OutboxMessageDocument.count()

    note = {"requestId": filed["id"], "text": NOTE}
    assert (await api.data(guide()["AddInternalNote"], note, token=operator))["addComment"][
        "comments"
    ] == [{"text": NOTE, "internal": True, "byOperator": True}]
    assert await OutboxMessageDocument.count() == outbox  # a note sends nothing

    emailed = len(mailbox.to("olena@example.com"))
    asked = {"input": {"requestId": filed["id"], "status": "NEEDS_INFO", "comment": "Фото чека"}}
    await api.data(CHANGE_STATUS, asked, token=operator)
    (sms,) = await sms_gateway.wait_for(PHONE)
    email = body_of(await eventually(lambda: latest(mailbox, emailed)))
    assert "Фото чека" in email
    assert NOTE not in email
    assert "Фото чека" in sms["text"]
    assert NOTE not in sms["text"]


async def test_a_member_asking_for_an_internal_note_gets_a_typed_error_and_nothing_is_written(
    api: Api, mailbox: Mailbox
):
    member = await customer(api, mailbox)
    filed = await callback(api, member)
    request_id = relay.GlobalID.from_id(filed["id"]).node_id
    before = await RequestDocument.get(request_id)
    assert before is not None

    note = {"requestId": filed["id"], "text": NOTE}
    refused = (await api.data(ADD_INTERNAL_NOTE, note, token=member))["addComment"]

    assert refused["code"] == "INVALID_INPUT"
    assert refused["fields"] == [
        {
            "field": "internal",
            "code": "STAFF_ONLY",
            "message": translate("field.staff_only", Locale.UK),
        }
    ]
    assert await RequestDocument.get(request_id) == before
