"""Outcomes per kind (issue 16 item 4): staff record what was arranged with the status
change that needs it, in one update; the member reads it, nobody else's; bad input is
refused, localised, and changes nothing."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from strawberry import relay

from kabinet.clock import now
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import (
    AuditAction,
    AuditEventDocument,
    OutboxMessageDocument,
    RequestDocument,
    UserDocument,
)
from kabinet.documents.request import OutcomeNews, PendingNews
from kabinet.i18n import Locale, translate
from kabinet.resolvers.notifications import announce_all_pending
from kabinet.services import Services
from tests.operations import (
    CHANGE_STATUS,
    CREATE_REQUEST,
    MY_REQUESTS,
    UPDATE_NOTIFICATION_SETTINGS,
)
from tests.policies import PHONE
from tests.requests_support import (
    HEIC,
    PDF,
    PNG,
    VALID_IBAN,
    callback,
    change_status,
    create,
    customer,
    multipart,
    window,
)
from tests.support import Api, Mailbox, SmsGateway, bearer_path
from tests.test_api_guide import operations as guide
from tests.test_privacy import delete, export

OUTCOME = """
query Outcome($id: ID!) {
  node(id: $id) {
    ... on Request {
      status
      outcome {
        __typename
        ... on AppointmentOutcome { clinicName clinicAddress doctor specialty at instructions }
        ... on LabTestsOutcome {
          laboratory laboratoryAddress samplesAt results { filename contentType url }
        }
        ... on ReimbursementOutcome {
          approvedAmount currency documents { attachmentId approved } refusals { reason text }
          payout { status amount paidOn reference }
        }
        ... on CallbackOutcome { attempts { result } nextAttemptAt }
        ... on MedicationsOutcome {
          handover pharmacyName pharmacyAddress items { name decision substitute }
        }
      }
    }
  }
}
"""
APPOINTMENT = {
    "clinicName": "Клініка «Добробут»",
    "clinicAddress": "Київ, вул. Богдана Хмельницького, 5",
    "doctor": "Іваненко Марія Петрівна",
    "specialty": "Терапевт",
    "instructions": "Візьміть паспорт і поліс",
}


async def appointment(api: Api, member: str, operator: str) -> str:
    """A member's doctor appointment request, IN_PROGRESS."""
    filed = await create(
        api, member, {"doctorAppointment": {"specialty": "Терапевт", "preferredTimes": [window()]}}
    )
    await start(api, operator, filed["id"])
    return filed["id"]


async def start(api: Api, operator: str, request_id: str) -> None:
    started = await change_status(api, operator, request_id, "IN_PROGRESS")
    assert started["status"] == "IN_PROGRESS"


def in_two_days() -> str:
    return (now() + timedelta(days=2)).replace(microsecond=0).isoformat()


async def document_of(request_id: str) -> RequestDocument:
    document = await RequestDocument.get(relay.GlobalID.from_id(request_id).node_id)
    assert document is not None
    return document


async def stored(request_id: str) -> dict[str, Any]:
    return (await document_of(request_id)).model_dump()


async def test_scheduling_an_appointment_shows_the_member_where_and_when(
    api: Api, member: str, operator: str
):
    request_id = await appointment(api, member, operator)
    at = in_two_days()

    answer = await api.data(
        guide()["ScheduleAppointment"],
        {"requestId": request_id, "at": at, "appointment": APPOINTMENT},
        token=operator,
    )

    assert answer["changeRequestStatus"]["status"] == "SCHEDULED"
    seen = (await api.data(OUTCOME, {"id": request_id}, token=member))["node"]
    assert seen["outcome"] == {"__typename": "AppointmentOutcome", **APPOINTMENT, "at": at}
    document = await document_of(request_id)
    assert document.details.scheduled_at.isoformat() == at  # written by the same update
    audited = await AuditEventDocument.find(
        {"action": AuditAction.REQUEST_STATUS_CHANGED}
    ).to_list()
    assert audited[-1].after == {"status": "scheduled", "outcome": "doctor_appointment"}


async def test_another_member_never_reads_an_outcome(api: Api, mailbox: Mailbox, operator: str):
    olena = await customer(api, mailbox)
    taras = await customer(api, mailbox, "taras@example.com", "+380501112233")
    request_id = await appointment(api, olena, operator)
    variables = {"requestId": request_id, "at": in_two_days(), "appointment": APPOINTMENT}
    await api.data(guide()["ScheduleAppointment"], variables, token=operator)

    assert (await api.data(OUTCOME, {"id": request_id}, token=taras))["node"] is None
    assert (await api.data(MY_REQUESTS, token=taras))["me"]["requests"]["totalCount"] == 0
    assert (await api.data(OUTCOME, {"id": request_id}, token=olena))["node"]["outcome"]


@pytest.mark.parametrize("locale", [Locale.UK, Locale.EN])
@pytest.mark.parametrize(
    ("outcome", "field", "code"),
    [
        (None, "outcome.appointment", "OUTCOME_REQUIRED"),
        (
            {"appointment": {**APPOINTMENT, "clinicName": " "}},
            "outcome.appointment.clinicName",
            "REQUIRED",
        ),
        ({"appointment": {**APPOINTMENT, "doctor": ""}}, "outcome.appointment.doctor", "REQUIRED"),
    ],
)
async def test_scheduling_without_a_complete_outcome_is_refused_and_writes_nothing(
    api: Api, member: str, operator: str, locale: Locale, outcome: Any, field: str, code: str
):
    request_id = await appointment(api, member, operator)
    before = await stored(request_id)
    given = {"outcome": outcome} if outcome else {}
    variables = {
        "input": {"requestId": request_id, "status": "SCHEDULED", "scheduledAt": in_two_days()}
        | given
    }

    staff = await UserDocument.find_one({"email": "operator@example.com"})
    await staff.set({"locale": locale})  # a signed-in caller reads their account's language

    answer = await api.data(CHANGE_STATUS, variables, token=operator)

    refused = answer["changeRequestStatus"]
    assert refused["__typename"] == "InputError"
    assert [(f["field"], f["code"]) for f in refused["fields"]] == [(field, code)]
    key = "field.outcome_required" if code == "OUTCOME_REQUIRED" else "field.required"
    assert refused["fields"][0]["message"] == translate(key, locale)
    assert await stored(request_id) == before


async def test_an_outcome_of_another_kind_is_refused(api: Api, member: str, operator: str):
    filed = await callback(api, member)
    await start(api, operator, filed["id"])
    before = await stored(filed["id"])
    variables = {
        "input": {
            "requestId": filed["id"],
            "status": "NEEDS_INFO",
            "scheduledAt": in_two_days(),
            "outcome": {"appointment": APPOINTMENT},
        }
    }

    answer = await api.data(CHANGE_STATUS, variables, token=operator)

    refused = answer["changeRequestStatus"]
    assert [(f["field"], f["code"]) for f in refused["fields"]] == [
        ("outcome", "OUTCOME_KIND_MISMATCH")
    ]
    assert await stored(filed["id"]) == before


async def test_a_member_cannot_set_an_outcome(api: Api, member: str, operator: str):
    request_id = await appointment(api, member, operator)
    before = await stored(request_id)
    variables = {
        "input": {
            "requestId": request_id,
            "status": "SCHEDULED",
            "scheduledAt": in_two_days(),
            "outcome": {"appointment": APPOINTMENT},
        }
    }

    body = await api.post(CHANGE_STATUS, variables, token=member)

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await stored(request_id) == before


ORDERED = [
    {"name": "Парацетамол", "quantity": 2},
    {"name": "Нурофен", "quantity": 1},
    {"name": "Аспірин", "quantity": 1},
]
PICKUP = {
    "handover": "PHARMACY_PICKUP",
    "pharmacyName": "Аптека «Подорожник»",
    "pharmacyAddress": "Київ, вул. Саксаганського, 12",
    "items": [
        {"decision": "APPROVED"},
        {"decision": "SUBSTITUTED", "substitute": "Ібупрофен 200 мг"},
        {"decision": "REFUSED"},
    ],
}


async def medications(api: Api, member: str, operator: str) -> str:
    filed = await create(api, member, {"medications": {"items": ORDERED}})
    await start(api, operator, filed["id"])
    return filed["id"]


async def approve(api: Api, operator: str, request_id: str, outcome: Any) -> dict[str, Any]:
    given = {"outcome": {"medications": outcome}} if outcome else {}
    return await change_status(api, operator, request_id, "APPROVED", **given)


async def test_approved_medications_tell_the_member_where_and_which(
    api: Api, member: str, operator: str
):
    request_id = await medications(api, member, operator)

    assert (await approve(api, operator, request_id, PICKUP))["status"] == "APPROVED"

    seen = (await api.data(OUTCOME, {"id": request_id}, token=member))["node"]["outcome"]
    assert seen == {
        "__typename": "MedicationsOutcome",
        "handover": "PHARMACY_PICKUP",
        "pharmacyName": PICKUP["pharmacyName"],
        "pharmacyAddress": PICKUP["pharmacyAddress"],
        "items": [
            {"name": "Парацетамол", "decision": "APPROVED", "substitute": None},
            {"name": "Нурофен", "decision": "SUBSTITUTED", "substitute": "Ібупрофен 200 мг"},
            {"name": "Аспірин", "decision": "REFUSED", "substitute": None},
        ],
    }


@pytest.mark.parametrize(
    ("outcome", "field", "code"),
    [
        (None, "outcome.medications", "OUTCOME_REQUIRED"),
        (
            {**PICKUP, "items": PICKUP["items"][:2]},
            "outcome.medications.items",
            "OUTCOME_ITEMS_MISMATCH",
        ),
        ({**PICKUP, "pharmacyName": None}, "outcome.medications.pharmacyName", "REQUIRED"),
        (
            {**PICKUP, "items": [{"decision": "SUBSTITUTED"}, *PICKUP["items"][1:]]},
            "outcome.medications.items.0.substitute",
            "REQUIRED",
        ),
    ],
)
async def test_an_incomplete_medications_outcome_is_refused_and_writes_nothing(
    api: Api, member: str, operator: str, outcome: Any, field: str, code: str
):
    request_id = await medications(api, member, operator)
    before = await stored(request_id)

    refused = await approve(api, operator, request_id, outcome)

    assert [(f["field"], f["code"]) for f in refused["fields"]] == [(field, code)]
    assert await stored(request_id) == before


async def call(api: Api, token: str, request_id: str, result: str, next_at: str | None) -> Any:
    variables = {"requestId": request_id, "result": result, "next": next_at}
    body = await api.post(guide()["RecordCallAttempt"], variables, token=token)
    return body["data"]["recordCallAttempt"] if body.get("data") else body


async def test_each_call_attempt_is_shown_to_the_member_with_the_next_one(
    api: Api, member: str, operator: str
):
    request_id = (await callback(api, member))["id"]
    next_at = (now() + timedelta(hours=1)).replace(microsecond=0).isoformat()

    await call(api, operator, request_id, "NO_ANSWER", next_at)
    seen = (await api.data(OUTCOME, {"id": request_id}, token=member))["node"]["outcome"]
    assert seen == {
        "__typename": "CallbackOutcome",
        "attempts": [{"result": "NO_ANSWER"}],
        "nextAttemptAt": next_at,
    }
    await call(api, operator, request_id, "REACHED", None)
    seen = (await api.data(OUTCOME, {"id": request_id}, token=member))["node"]["outcome"]
    assert seen["attempts"] == [{"result": "NO_ANSWER"}, {"result": "REACHED"}]
    assert seen["nextAttemptAt"] is None
    audited = await AuditEventDocument.find(
        {"action": AuditAction.REQUEST_OUTCOME_RECORDED}
    ).to_list()
    assert [event.after for event in audited] == [
        {"call_attempt": "no_answer"},
        {"call_attempt": "reached"},
    ]


async def test_a_call_attempt_is_refused_where_it_does_not_belong(
    api: Api, member: str, operator: str
):
    appointment_id = await appointment(api, member, operator)
    callback_id = (await callback(api, member))["id"]
    before = {request_id: await stored(request_id) for request_id in (appointment_id, callback_id)}
    past = (now() - timedelta(minutes=1)).isoformat()

    wrong_kind = await call(api, operator, appointment_id, "REACHED", None)
    in_the_past = await call(api, operator, callback_id, "NO_ANSWER", past)
    by_member = await call(api, member, callback_id, "REACHED", None)

    assert [(f["field"], f["code"]) for f in wrong_kind["fields"]] == [
        ("requestId", "OUTCOME_KIND_MISMATCH")
    ]
    assert [(f["field"], f["code"]) for f in in_the_past["fields"]] == [
        ("nextAttemptAt", "TIME_NOT_IN_FUTURE")
    ]
    assert in_the_past["fields"][0]["message"] == translate("field.time_not_in_future", Locale.UK)
    assert by_member["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for request_id, document in before.items():
        assert await stored(request_id) == document
    # A closed request takes no more.
    variables = {"input": {"requestId": callback_id, "status": "REJECTED"}}
    await api.data(CHANGE_STATUS, variables, token=operator)
    closed = await call(api, operator, callback_id, "REACHED", None)
    assert closed["code"] == "REQUEST_CLOSED"


LAB = {"laboratory": "Сінево", "laboratoryAddress": "Київ, просп. Перемоги, 20"}


async def lab_tests(api: Api, member: str, operator: str) -> str:
    """A member's lab tests request, SCHEDULED at a laboratory."""
    filed = await create(
        api,
        member,
        {"labTests": {"tests": ["Загальний аналіз крові"], "preferredTimes": [window()]}},
    )
    await start(api, operator, filed["id"])
    variables = {
        "input": {
            "requestId": filed["id"],
            "status": "SCHEDULED",
            "scheduledAt": in_two_days(),
            "outcome": {"labTests": LAB},
        }
    }
    scheduled = await api.data(CHANGE_STATUS, variables, token=operator)
    assert scheduled["changeRequestStatus"]["status"] == "SCHEDULED"
    return filed["id"]


async def upload(api: Api, token: str, request_id: str, *files: tuple[str, bytes]) -> Any:
    variables = {"input": {"requestId": request_id, "files": [None] * len(files)}}
    paths = {f"variables.input.files.{index}": file for index, file in enumerate(files)}
    response = await multipart(api, token, guide()["UploadLabResults"], variables, paths)
    body = response.json()
    return body["data"]["uploadLabResults"] if body.get("data") else body


async def results_news() -> list[str]:
    """The channels the "results ready" messages went to."""
    messages = await OutboxMessageDocument.find({"dedupe_key": {"$regex": "^results:"}}).to_list()
    return sorted(message.channel.value for message in messages)


async def test_lab_results_reach_the_member_as_files_with_a_message(
    api: Api, mailbox: Mailbox, sms_gateway: SmsGateway, operator: str
):
    member = await customer(api, mailbox)
    taras = await customer(api, mailbox, "taras@example.com", "+380501112233")
    request_id = await lab_tests(api, member, operator)
    before = (await api.data(OUTCOME, {"id": request_id}, token=member))["node"]["outcome"]
    assert (before["laboratory"], before["results"]) == (LAB["laboratory"], [])

    uploaded = await upload(api, operator, request_id, ("аналіз.pdf", PDF), ("фото.png", PNG))

    assert uploaded["__typename"] == "Request"
    seen = (await api.data(OUTCOME, {"id": request_id}, token=member))["node"]["outcome"]
    assert [(r["filename"], r["contentType"]) for r in seen["results"]] == [
        ("аналіз.pdf", "application/pdf"),
        ("фото.png", "image/png"),
    ]
    path = bearer_path(seen["results"][0]["url"])
    mine = await api.http.get(path, headers={"Authorization": f"Bearer {member}"})
    theirs = await api.http.get(path, headers={"Authorization": f"Bearer {taras}"})
    assert (mine.status_code, mine.content) == (200, PDF)
    assert theirs.status_code == 404
    # By default a member takes status news by SMS only: so the results news too.
    sent = await sms_gateway.wait_for(PHONE, count=2)  # SCHEDULED's, then the results'
    number = (await document_of(request_id)).number
    assert translate("sms.results_ready", Locale.UK, number=number) in [m["text"] for m in sent]
    assert await results_news() == ["sms"]


async def test_results_news_follows_the_members_channels(api: Api, member: str, operator: str):
    settings = {"input": {"sms": [], "email": ["COMPLETED"]}}
    await api.data(UPDATE_NOTIFICATION_SETTINGS, settings, token=member)
    request_id = await lab_tests(api, member, operator)

    await upload(api, operator, request_id, ("аналіз.pdf", PDF))

    assert await results_news() == ["email"]


@pytest.mark.parametrize(
    ("file", "code"),
    [
        (("фото.heic", HEIC), "RESULT_TYPE_NOT_ALLOWED"),
        (("a.txt", b"hello"), "FILE_TYPE_NOT_ALLOWED"),
    ],
)
async def test_results_that_are_not_pdf_jpeg_or_png_are_refused_unstored(
    api: Api, member: str, operator: str, file: tuple[str, bytes], code: str
):
    request_id = await lab_tests(api, member, operator)
    before = await stored(request_id)
    files_before = (
        await RequestDocument.get_pymongo_collection().database["fs.files"].count_documents({})
    )

    refused = await upload(api, operator, request_id, ("аналіз.pdf", PDF), file)

    assert [(f["field"], f["code"]) for f in refused["fields"]] == [("files[1]", code)]
    assert refused["fields"][0]["message"] == translate(f"field.{code.lower()}", Locale.UK)
    assert await stored(request_id) == before
    files_after = (
        await RequestDocument.get_pymongo_collection().database["fs.files"].count_documents({})
    )
    assert files_after == files_before
    assert await results_news() == []


async def test_results_belong_to_lab_tests_and_scheduling_them_needs_a_laboratory(
    api: Api, member: str, operator: str
):
    callback_id = (await callback(api, member))["id"]
    before = await stored(callback_id)

    refused = await upload(api, operator, callback_id, ("аналіз.pdf", PDF))

    assert [(f["field"], f["code"]) for f in refused["fields"]] == [
        ("requestId", "OUTCOME_KIND_MISMATCH")
    ]
    assert await stored(callback_id) == before
    filed = await create(
        api, member, {"labTests": {"tests": ["Глюкоза"], "preferredTimes": [window()]}}
    )
    await start(api, operator, filed["id"])
    variables = {
        "input": {"requestId": filed["id"], "status": "SCHEDULED", "scheduledAt": in_two_days()}
    }
    unscheduled = (await api.data(CHANGE_STATUS, variables, token=operator))["changeRequestStatus"]
    assert [(f["field"], f["code"]) for f in unscheduled["fields"]] == [
        ("outcome.labTests", "OUTCOME_REQUIRED")
    ]


async def test_lab_results_are_exported_and_erased_with_the_account(
    api: Api, member: str, operator: str
):
    request_id = await lab_tests(api, member, operator)
    await upload(api, operator, request_id, ("аналіз.pdf", PDF))

    exported, _, files = await export(api, member)

    (request,) = exported["requests"]
    assert request["outcome"]["laboratory"] == LAB["laboratory"]
    assert [result["filename"] for result in request["outcome"]["results"]] == ["аналіз.pdf"]
    assert "аналіз.pdf" in [file["filename"] for file in files]
    await delete(api, member)
    erased = await document_of(request_id)
    assert erased.outcome.results == []
    assert erased.outcome.laboratory == LAB["laboratory"]  # kept for the insurer


async def reimbursement(api: Api, member: str, operator: str) -> tuple[str, list[str]]:
    """A member's reimbursement of 1000.00 with two documents, IN_PROGRESS; its id and the
    documents' ids."""
    fields = {
        "amount": "1000.00",
        "serviceDate": (now().date() - timedelta(days=1)).isoformat(),
        "description": "Консультація та аналізи",
        "iban": VALID_IBAN,
        "documents": [None, None],
    }
    filed = await multipart(
        api,
        member,
        CREATE_REQUEST,
        {"input": {"reimbursement": fields}},
        {
            "variables.input.reimbursement.documents.0": ("чек.pdf", PDF),
            "variables.input.reimbursement.documents.1": ("акт.png", PNG),
        },
    )
    request = filed.json()["data"]["createRequest"]
    await start(api, operator, request["id"])
    return request["id"], [attachment["id"] for attachment in request["attachments"]]


def decision(documents: list[str], amount: str | None = "800.00", **extra: Any) -> dict:
    return {
        "approvedAmount": amount,
        "documents": [
            {"attachmentId": documents[0], "approved": True},
            {"attachmentId": documents[1], "approved": False},
        ],
        "refusals": [{"reason": "INVALID_DOCUMENTS", "text": "Акт нечитабельний"}],
    } | extra


async def decide(api: Api, operator: str, request_id: str, status: str, given: dict) -> Any:
    variables = {"requestId": request_id, "status": status, "decision": given}
    answer = await api.data(guide()["DecideReimbursement"], variables, token=operator)
    return answer["changeRequestStatus"]


async def pay(api: Api, operator: str, request_id: str, **fields: Any) -> Any:
    variables = {"input": {"requestId": request_id, **fields}}
    answer = await api.data(guide()["RecordPayout"], variables, token=operator)
    return answer["recordPayout"]


async def test_a_reimbursement_decision_and_its_payout_reach_the_member(
    api: Api, member: str, operator: str
):
    request_id, documents = await reimbursement(api, member, operator)

    assert (await decide(api, operator, request_id, "APPROVED", decision(documents)))[
        "status"
    ] == "APPROVED"
    pending = await pay(api, operator, request_id, status="PENDING", amount="800.00")
    assert pending["outcome"]["payout"]["status"] == "PENDING"
    assert await payout_news() == []
    today = now().date().isoformat()
    paid = {"status": "PAID", "amount": "800", "paidOn": today, "reference": "PL-2026-0042"}
    await pay(api, operator, request_id, **paid)
    await pay(api, operator, request_id, **paid)  # recorded again: told once

    seen = (await api.data(OUTCOME, {"id": request_id}, token=member))["node"]["outcome"]
    assert seen == {
        "__typename": "ReimbursementOutcome",
        "approvedAmount": "800.00",
        "currency": "UAH",
        "documents": [
            {"attachmentId": documents[0], "approved": True},
            {"attachmentId": documents[1], "approved": False},
        ],
        "refusals": [{"reason": "INVALID_DOCUMENTS", "text": "Акт нечитабельний"}],
        "payout": {
            "status": "PAID",
            "amount": "800.00",
            "paidOn": today,
            "reference": "PL-2026-0042",
        },
    }
    assert await payout_news() == ["sms"]
    listed = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Request { availableActions { action } } } }",
        {"id": request_id},
        token=operator,
    )
    assert {"action": "RECORD_PAYOUT"} in listed["node"]["availableActions"]


async def payout_news() -> list[str]:
    messages = await OutboxMessageDocument.find({"dedupe_key": {"$regex": "^payout:"}}).to_list()
    return sorted(message.channel.value for message in messages)


@pytest.mark.parametrize("locale", [Locale.UK, Locale.EN])
@pytest.mark.parametrize(
    ("status", "change", "field", "code"),
    [
        ("APPROVED", {"approvedAmount": "1000.01"}, "approvedAmount", "AMOUNT_ABOVE_MAXIMUM"),
        ("APPROVED", {"approvedAmount": "-5"}, "approvedAmount", "AMOUNT_INVALID"),
        ("APPROVED", {"approvedAmount": "10.005"}, "approvedAmount", "AMOUNT_INVALID"),
        ("APPROVED", {"approvedAmount": None}, "approvedAmount", "REQUIRED"),
        ("APPROVED", {"refusals": []}, "refusals", "REFUSAL_REQUIRED"),
        ("REJECTED", {"approvedAmount": None, "refusals": []}, "refusals", "REFUSAL_REQUIRED"),
        ("APPROVED", {"documents": []}, "documents", "OUTCOME_DOCUMENTS_MISMATCH"),
        (
            "APPROVED",
            {"refusals": [{"reason": "OTHER"}]},
            "refusals.0.text",
            "REQUIRED",
        ),
    ],
)
async def test_a_bad_reimbursement_decision_is_refused_and_writes_nothing(
    api: Api,
    member: str,
    operator: str,
    locale: Locale,
    status: str,
    change: dict,
    field: str,
    code: str,
):
    request_id, documents = await reimbursement(api, member, operator)
    before = await stored(request_id)
    staff = await UserDocument.find_one({"email": "operator@example.com"})
    await staff.set({"locale": locale})

    refused = await decide(api, operator, request_id, status, decision(documents) | change)

    assert [(f["field"], f["code"]) for f in refused["fields"]] == [
        (f"outcome.reimbursement.{field}", code)
    ]
    key = f"field.{code.lower()}"
    expected = translate(key, locale, maximum=Decimal(1000))
    assert refused["fields"][0]["message"] == expected
    assert await stored(request_id) == before


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        ({"status": "PENDING", "amount": "800.01"}, [("amount", "AMOUNT_ABOVE_MAXIMUM")]),
        (
            {"status": "PAID", "amount": "800.00"},
            [("reference", "REQUIRED"), ("paidOn", "REQUIRED")],
        ),
    ],
)
async def test_a_bad_payout_is_refused_and_writes_nothing(
    api: Api, member: str, operator: str, fields: dict, problems: list
):
    request_id, documents = await reimbursement(api, member, operator)
    undecided = await pay(api, operator, request_id, status="PENDING", amount="1.00")
    assert [(f["field"], f["code"]) for f in undecided["fields"]] == [
        ("requestId", "DECISION_REQUIRED")
    ]
    await decide(api, operator, request_id, "APPROVED", decision(documents))
    before = await stored(request_id)

    refused = await pay(api, operator, request_id, **fields)

    assert [(f["field"], f["code"]) for f in refused["fields"]] == problems
    assert await stored(request_id) == before
    assert await payout_news() == []


async def test_an_outcome_with_a_change_that_takes_none_is_refused(
    api: Api, member: str, operator: str
):
    request_id = await appointment(api, member, operator)
    variables = {"requestId": request_id, "at": in_two_days(), "appointment": APPOINTMENT}
    await api.data(guide()["ScheduleAppointment"], variables, token=operator)
    before = await stored(request_id)
    completing = {
        "input": {
            "requestId": request_id,
            "status": "COMPLETED",
            "scheduledAt": in_two_days(),
            "outcome": {"appointment": {**APPOINTMENT, "clinicName": "Інша клініка"}},
        }
    }

    refused = (await api.data(CHANGE_STATUS, completing, token=operator))["changeRequestStatus"]

    assert [(f["field"], f["code"]) for f in refused["fields"]] == [
        ("outcome", "OUTCOME_NOT_EXPECTED")
    ]
    assert await stored(request_id) == before


async def test_re_planned_lab_tests_keep_their_results(api: Api, member: str, operator: str):
    request_id = await lab_tests(api, member, operator)
    await upload(api, operator, request_id, ("аналіз.pdf", PDF))
    await start(api, operator, request_id)  # SCHEDULED -> IN_PROGRESS: re-planning
    moved = {**LAB, "laboratory": "Діла"}
    variables = {
        "input": {
            "requestId": request_id,
            "status": "SCHEDULED",
            "scheduledAt": in_two_days(),
            "outcome": {"labTests": moved},
        }
    }

    await api.data(CHANGE_STATUS, variables, token=operator)

    seen = (await api.data(OUTCOME, {"id": request_id}, token=member))["node"]["outcome"]
    assert seen["laboratory"] == "Діла"
    assert [result["filename"] for result in seen["results"]] == ["аналіз.pdf"]


async def test_payout_news_left_pending_by_a_crash_is_told_once_by_the_sweeper(
    api: Api, member: str, operator: str, settings: Settings, database: Database
):
    request_id, documents = await reimbursement(api, member, operator)
    await decide(api, operator, request_id, "APPROVED", decision(documents))
    today = now().date().isoformat()
    await pay(api, operator, request_id, status="PAID", amount="800", paidOn=today, reference="R1")
    told = await document_of(request_id)
    assert (told.unannounced_news, told.unannounced_since) == ([], None)
    assert await payout_news() == ["sms"]

    # As a crash right after the payout's update leaves it: the news pending, no message.
    await OutboxMessageDocument.find({"dedupe_key": {"$regex": "^payout:"}}).delete()
    pending = PendingNews(key=f"payout:{told.id}", news=OutcomeNews.PAYOUT_PAID)
    await RequestDocument.get_pymongo_collection().update_one(
        {"_id": told.id},
        {
            "$push": {"unannounced": pending.id, "unannounced_news": pending.model_dump()},
            "$set": {"unannounced_since": now()},
        },
    )
    services = Services.of(settings, database)
    assert await announce_all_pending(services) == 1
    assert await announce_all_pending(services) == 0

    swept = await document_of(request_id)
    assert (swept.unannounced_news, swept.unannounced_since) == ([], None)
    assert await payout_news() == ["sms"]


async def test_erasing_the_account_erases_what_staff_wrote_in_its_outcomes(
    api: Api, member: str, operator: str
):
    visit = await appointment(api, member, operator)
    await api.data(
        guide()["ScheduleAppointment"],
        {"requestId": visit, "at": in_two_days(), "appointment": APPOINTMENT},
        token=operator,
    )
    claim, documents = await reimbursement(api, member, operator)
    await decide(api, operator, claim, "APPROVED", decision(documents))

    await delete(api, member)

    scheduled = (await document_of(visit)).outcome
    assert scheduled.instructions is None
    assert (scheduled.clinic_name, scheduled.doctor) == (
        APPOINTMENT["clinicName"],
        APPOINTMENT["doctor"],
    )
    decided = (await document_of(claim)).outcome
    assert [(refusal.reason.value, refusal.text) for refusal in decided.refusals] == [
        ("invalid_documents", None)
    ]
    assert decided.approved_amount == "800.00"  # kept for the insurer
