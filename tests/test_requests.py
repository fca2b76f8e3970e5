"""Requests (guide section 4): every kind, documents, lifecycle and processing."""

import asyncio
import re
from datetime import timedelta

import pytest
from babel.dates import format_date

from kabinet.clock import now
from kabinet.documents import PolicyDocument, PolicyStatus, RequestDocument
from kabinet.i18n import Locale, translate
from kabinet.resolvers.requests import TRANSITIONS
from tests.operations import (
    ADD_COMMENT,
    CANCEL_REQUEST,
    CHANGE_STATUS,
    CREATE_REQUEST,
    SET_ADDRESS,
)
from tests.policies import PHONE, staff_token
from tests.requests_support import (
    HEIC,
    JPEG,
    PDF,
    PNG,
    VALID_IBAN,
    callback,
    create,
    customer,
    multipart,
    window,
)
from tests.support import Api, CommandLog, Mailbox, at_the_start_of_a_window, bearer_path


@pytest.fixture
async def token(api: Api, mailbox: Mailbox) -> str:
    return await customer(api, mailbox)


async def home_address(api: Api, token: str) -> str:
    result = await api.data(
        SET_ADDRESS,
        {"input": {"kind": "HOME", "city": "Київ", "street": "Хрещатик", "building": "1"}},
        token=token,
    )
    return result["setAddress"]["id"]


async def change(api: Api, operator: str, request_id: str, status: str, **extra: object) -> dict:
    variables = {"input": {"requestId": request_id, "status": status, **extra}}
    return (await api.data(CHANGE_STATUS, variables, token=operator))["changeRequestStatus"]


async def fs_files() -> int:
    return await RequestDocument.get_pymongo_collection().database["fs.files"].count_documents({})


# ---- every kind


async def test_filing_reads_the_cards_once_for_the_check_and_the_answer(
    api: Api, token: str, command_log: CommandLog
):
    """The active card is found for the check and shown in the answer (`policy`) from one
    read of the account's cards."""
    await callback(api, token)  # the session is touched at most once: before counting
    start = len(command_log.commands)
    filed = await callback(api, token)
    commands = command_log.during_request(start)

    assert filed["policy"] == {"number": "UA-1"}
    assert commands.count(("find", "policies")) == 1, commands
    # The contacts the cards were linked through give the phone to call back too.
    assert commands.count(("find", "contacts")) == 1, commands
    request = await RequestDocument.find_one({"number": filed["number"]})
    assert request is not None
    assert request.details.phone == PHONE


async def test_doctor_appointment_home_visit(api: Api, token: str):
    address_id = await home_address(api, token)
    result = await create(
        api,
        token,
        {
            "doctorAppointment": {
                "specialty": " Терапевт ",
                "reason": "Температура",
                "preferredTimes": [window(24), window(48)],
                "homeVisit": True,
                "addressId": address_id,
            }
        },
    )
    assert result["__typename"] == "Request"
    assert re.fullmatch(rf"R-{now().year}-\d{{6}}", result["number"])
    assert (result["kind"], result["status"]) == ("DOCTOR_APPOINTMENT", "SUBMITTED")
    assert result["policy"] == {"number": "UA-1"}
    assert result["details"]["specialty"] == "Терапевт"
    assert result["details"]["address"] == {"city": "Київ"}
    assert len(result["details"]["preferredTimes"]) == 2
    assert result["history"] == [{"status": "SUBMITTED", "comment": None, "byOperator": False}]


async def test_medications_with_a_prescription(api: Api, token: str):
    response = await multipart(
        api,
        token,
        CREATE_REQUEST,
        {
            "input": {
                "medications": {
                    "items": [{"name": "Парацетамол", "dosage": "500 мг", "quantity": 2}],
                    "comment": "Якнайшвидше",
                    "prescriptions": [None],
                }
            }
        },
        {"variables.input.medications.prescriptions.0": ("рецепт.png", PNG)},
    )
    result = response.json()["data"]["createRequest"]
    assert result["details"]["items"] == [
        {"name": "Парацетамол", "dosage": "500 мг", "quantity": 2}
    ]
    assert [(a["filename"], a["contentType"]) for a in result["attachments"]] == [
        ("рецепт.png", "image/png")
    ]


async def test_lab_tests(api: Api, token: str):
    result = await create(
        api,
        token,
        {
            "labTests": {
                "tests": ["Загальний аналіз крові", "Глюкоза"],
                "preferredTimes": [window()],
            }
        },
    )
    assert result["details"]["tests"] == ["Загальний аналіз крові", "Глюкоза"]
    assert result["details"]["homeVisit"] is False


async def reimbursement(api: Api, token: str, files: dict, **overrides: object):
    """A reimbursement form; a `timedelta` is a day relative to today, taken when it runs
    (a date computed at collection is wrong once the run crosses midnight)."""
    fields = {
        "amount": "1 250,5",
        "serviceDate": (now().date() - timedelta(days=2)).isoformat(),
        "description": "Консультація кардіолога",
        "iban": VALID_IBAN[:4] + " " + VALID_IBAN[4:],
        "documents": [None] * len(files),
        **{
            name: (now().date() + value).isoformat() if isinstance(value, timedelta) else value
            for name, value in overrides.items()
        },
    }
    return await multipart(api, token, CREATE_REQUEST, {"input": {"reimbursement": fields}}, files)


@pytest.mark.parametrize(
    "typed",
    ["ua21 3223 1300 0002 6007 2335 6600 1", "UA21-3223-1300-0002-6007-2335-6600-1", VALID_IBAN],
)
async def test_a_ukrainian_iban_in_any_usual_form_is_stored_compact(
    api: Api, token: str, typed: str
):
    response = await reimbursement(
        api, token, {"variables.input.reimbursement.documents.0": ("чек.pdf", PDF)}, iban=typed
    )
    assert response.json()["data"]["createRequest"]["details"]["iban"] == VALID_IBAN


async def test_reimbursement_with_documents(api: Api, token: str):
    response = await reimbursement(
        api,
        token,
        {
            "variables.input.reimbursement.documents.0": ("чек.pdf", PDF),
            "variables.input.reimbursement.documents.1": ("фото.jpg", JPEG),
            "variables.input.reimbursement.documents.2": ("IMG_0001.HEIC", HEIC),
        },
    )
    result = response.json()["data"]["createRequest"]
    assert result["details"]["amount"] == "1250.50"
    assert result["details"]["currency"] == "UAH"
    assert result["details"]["iban"] == VALID_IBAN
    assert [a["contentType"] for a in result["attachments"]] == [
        "application/pdf",
        "image/jpeg",
        "image/heic",
    ]
    assert await fs_files() == 3


async def test_callback_defaults_to_the_primary_confirmed_phone(api: Api, token: str):
    result = await callback(api, token)
    assert result["details"] == {
        "__typename": "CallbackDetails",
        "phone": PHONE,
        "topic": "Питання щодо поліса",
        "preferredTime": None,
    }


# ---- invalid input, each kind


@pytest.mark.parametrize(
    ("kind_input", "path", "code"),
    [
        (
            {"doctorAppointment": {"specialty": "Терапевт", "preferredTimes": []}},
            "preferredTimes",
            "WINDOWS_REQUIRED",
        ),
        (
            {"doctorAppointment": {"specialty": "", "preferredTimes": [window()]}},
            "specialty",
            "REQUIRED",
        ),
        (
            {"doctorAppointment": {"specialty": "ЛОР", "preferredTimes": [window(-5)]}},
            "preferredTimes[0]",
            "WINDOW_INVALID",
        ),
        (
            {"doctorAppointment": {"specialty": "ЛОР", "preferredTimes": [window(5, -1)]}},
            "preferredTimes[0]",
            "WINDOW_INVALID",
        ),
        (
            {
                "doctorAppointment": {
                    "specialty": "ЛОР",
                    "preferredTimes": [window()],
                    "homeVisit": True,
                }
            },
            "addressId",
            "ADDRESS_REQUIRED",
        ),
        (
            {
                "doctorAppointment": {
                    "specialty": "ЛОР",
                    "preferredTimes": [window()],
                    "addressId": "QWRkcmVzczo2YjA1",
                }
            },
            "addressId",
            "ADDRESS_UNKNOWN",
        ),
        ({"medications": {"items": []}}, "items", "ITEMS_REQUIRED"),
        (
            {"medications": {"items": [{"name": "Но-шпа", "quantity": 0}]}},
            "items[0].quantity",
            "QUANTITY_INVALID",
        ),
        ({"medications": {"items": [{"name": " ", "quantity": 1}]}}, "items[0].name", "REQUIRED"),
        ({"labTests": {"tests": [], "preferredTimes": [window()]}}, "tests", "ITEMS_REQUIRED"),
        ({"callback": {"phone": "12345"}}, "phone", "CONTACT_INVALID"),
        ({"callback": {"preferredTime": window(-3)}}, "preferredTime[0]", "WINDOW_INVALID"),
    ],
)
async def test_invalid_requests_are_refused_and_nothing_is_filed(
    api: Api, token: str, kind_input: dict, path: str, code: str
):
    result = await create(api, token, kind_input)

    assert result["__typename"] == "InputError"
    assert [(f["field"], f["code"]) for f in result["fields"]] == [(path, code)]
    assert await RequestDocument.count() == 0


@pytest.mark.parametrize(
    "typed",
    [
        "pay to \u202eNABI\u202c",  # a right-to-left override turns the words around
        "first\u2066isolate\u2069",
        "nul\x00byte",
        "bell\x07",
        "c1\x9acontrol",
    ],
)
async def test_free_text_refuses_control_and_direction_characters(api: Api, token: str, typed: str):
    for kind_input, path in (
        ({"callback": {"topic": typed}}, "topic"),
        ({"medications": {"items": [{"name": typed, "quantity": 1}]}}, "items[0].name"),
    ):
        result = await create(api, token, kind_input)
        assert result["__typename"] == "InputError"
        assert [(f["field"], f["code"]) for f in result["fields"]] == [(path, "CONTROL_CHARACTERS")]
    assert await RequestDocument.count() == 0
    # Names and every other free-text field go through the same rule.
    profile = await api.data(
        "mutation($s: String) { updateProfile(input: {lastName: $s}) { __typename "
        "... on InputError { fields { field code } } } }",
        {"s": f"Шевч{typed}енко"},
        token=token,
    )
    assert profile["updateProfile"]["fields"] == [
        {"field": "lastName", "code": "CONTROL_CHARACTERS"}
    ]


async def test_free_text_drops_invisible_characters(api: Api, token: str):
    typed = "\ufeffПере\u200bдзвоніть\u00ad \u200d\u2060після 18:00"
    request = await create(api, token, {"callback": {"topic": typed}})
    stored = await RequestDocument.get_pymongo_collection().find_one({"number": request["number"]})
    assert stored["details"]["topic"] == "Передзвоніть після 18:00"


@pytest.mark.parametrize(
    ("overrides", "path", "code"),
    [
        ({"amount": "0"}, "amount", "AMOUNT_INVALID"),
        ({"amount": "12.345"}, "amount", "AMOUNT_INVALID"),
        ({"amount": "сто"}, "amount", "AMOUNT_INVALID"),
        ({"currency": "GBP"}, "currency", "CURRENCY_INVALID"),
        ({"iban": VALID_IBAN[:-1] + "2"}, "iban", "IBAN_CHECKSUM_INVALID"),
        ({"iban": "UA00" + VALID_IBAN[4:]}, "iban", "IBAN_CHECKSUM_INVALID"),
        # Valid IBANs of other countries, and a Ukrainian one a digit short or long.
        ({"iban": "DE89370400440532013000"}, "iban", "IBAN_INVALID"),
        ({"iban": "PL61109010140000071219812874"}, "iban", "IBAN_INVALID"),
        ({"iban": VALID_IBAN[:-1]}, "iban", "IBAN_INVALID"),
        ({"iban": VALID_IBAN + "0"}, "iban", "IBAN_INVALID"),
        ({"iban": "UA21 3223 1300 0002 6007 2335 6600 1!"}, "iban", "IBAN_INVALID"),
        (
            {"serviceDate": timedelta(days=1)},
            "serviceDate",
            "SERVICE_DATE_IN_FUTURE",
        ),
        (
            {"serviceDate": timedelta(days=-60)},
            "serviceDate",
            "SERVICE_DATE_OUTSIDE_POLICY",
        ),
        ({"description": ""}, "description", "REQUIRED"),
    ],
)
async def test_invalid_reimbursement(api: Api, token: str, overrides: dict, path: str, code: str):
    response = await reimbursement(
        api, token, {"variables.input.reimbursement.documents.0": ("чек.pdf", PDF)}, **overrides
    )
    result = response.json()["data"]["createRequest"]

    assert [(f["field"], f["code"]) for f in result["fields"]] == [(path, code)]
    assert await RequestDocument.count() == 0
    assert await fs_files() == 0


async def test_the_policy_term_reads_as_dates_in_the_persons_language(api: Api, token: str):
    response = await reimbursement(
        api,
        token,
        {"variables.input.reimbursement.documents.0": ("чек.pdf", PDF)},
        serviceDate=timedelta(days=-60),
    )
    (problem,) = response.json()["data"]["createRequest"]["fields"]
    policy = await PolicyDocument.find_one({})

    # Babel's long date for Ukrainian: "1 березня 2026 р." (not 01.03.2026).
    term = [format_date(day, "long", locale="uk") for day in (policy.valid_from, policy.valid_to)]
    assert problem["message"] == f"Дата послуги поза строком дії поліса ({term[0]} – {term[1]})."
    assert " р." in term[0].replace("\u202f", " ")


async def test_reimbursement_needs_documents(api: Api, token: str):
    fields = {
        "amount": "100",
        "serviceDate": now().date().isoformat(),
        "description": "Аналізи",
        "iban": VALID_IBAN,
        "documents": [],
    }
    result = await create(api, token, {"reimbursement": fields})
    assert [(f["field"], f["code"]) for f in result["fields"]] == [("documents", "FILES_REQUIRED")]


async def test_file_checked_by_content_not_name_and_nothing_is_stored(api: Api, token: str):
    response = await reimbursement(
        api,
        token,
        {
            "variables.input.reimbursement.documents.0": ("чек.pdf", PDF),
            "variables.input.reimbursement.documents.1": ("virus.pdf", b"MZ\x90\x00 not a pdf"),
        },
    )
    fields = response.json()["data"]["createRequest"]["fields"]

    assert [(f["field"], f["code"]) for f in fields] == [("documents[1]", "FILE_TYPE_NOT_ALLOWED")]
    assert await RequestDocument.count() == 0
    assert await fs_files() == 0


async def test_oversized_file_and_too_many_files_are_refused(api: Api, token: str):
    big = await reimbursement(
        api,
        token,
        {"variables.input.reimbursement.documents.0": ("big.pdf", PDF + b"0" * (10 * 1024 * 1024))},
    )
    many = await reimbursement(
        api,
        token,
        {f"variables.input.reimbursement.documents.{i}": (f"{i}.png", PNG) for i in range(14)},
    )

    assert big.json()["data"]["createRequest"]["fields"][0]["code"] == "FILE_TOO_LARGE"
    assert many.json()["data"]["createRequest"]["fields"][0]["code"] == "TOO_MANY_FILES"
    assert await fs_files() == 0


async def test_exactly_one_kind_per_request(api: Api, token: str):
    body = await api.post(
        CREATE_REQUEST,
        {"input": {"callback": {}, "labTests": {"tests": ["x"], "preferredTimes": [window()]}}},
        token=token,
    )
    assert body["errors"]
    assert await RequestDocument.count() == 0


async def test_request_needs_an_active_card(api: Api, mailbox: Mailbox):
    from tests.accounts import signed_up

    no_card = await signed_up(api, mailbox, "nocard@example.com")
    refused = await callback(api, no_card)
    assert (refused["__typename"], refused["code"]) == ("NotAllowed", "NO_ACTIVE_POLICY")

    token = await customer(api, mailbox, "suspended@example.com")
    await PolicyDocument.get_pymongo_collection().update_many(
        {}, {"$set": {"status": PolicyStatus.SUSPENDED.value}}
    )
    suspended = await callback(api, token)
    assert (suspended["__typename"], suspended["code"]) == ("NotAllowed", "POLICY_NOT_ACTIVE")
    assert suspended["message"] == translate("error.no_policy_in_force", Locale.UK)
    assert await RequestDocument.count() == 0


# ---- idempotency and numbers


async def test_same_idempotency_key_returns_the_first_request(api: Api, token: str):
    first = await callback(api, token, key="tap-0001")
    again = await callback(api, token, key="tap-0001")
    other = await callback(api, token, key="tap-0002")

    assert again["id"] == first["id"]
    assert other["id"] != first["id"]
    assert await RequestDocument.count() == 2


async def test_parallel_requests_with_one_key_file_one_request(api: Api, token: str):
    results = await asyncio.gather(*(callback(api, token, key="double-tap") for _ in range(5)))
    assert len({result["id"] for result in results}) == 1
    assert await RequestDocument.count() == 1


@pytest.mark.parametrize(
    "key",
    ["short-7", "x" * 129, "x" * 500_000, "has space1", "ключ-на-кирилиці", "tab\tkey-long", ""],
)
async def test_an_idempotency_key_out_of_shape_is_refused_by_name(api: Api, token: str, key: str):
    result = await callback(api, token, key=key)
    assert result["__typename"] == "InputError"
    assert [(f["field"], f["code"]) for f in result["fields"]] == [
        ("idempotencyKey", "IDEMPOTENCY_KEY_INVALID")
    ]
    assert await RequestDocument.count() == 0
    # The longest and shortest keys allowed file a request each.
    for allowed in ("k" * 128, "A1_b2-c3"):
        assert (await callback(api, token, key=allowed))["__typename"] == "Request"


async def test_numbers_are_unique_and_sequential(api: Api, token: str):
    numbers = [(await callback(api, token))["number"] for _ in range(3)]
    sequence = [int(number.rsplit("-", 1)[1]) for number in numbers]
    assert sequence == [sequence[0], sequence[0] + 1, sequence[0] + 2]


# ---- lifecycle


def walks() -> list[list[str]]:
    return [
        ["IN_PROGRESS", "NEEDS_INFO", "IN_PROGRESS", "SCHEDULED", "COMPLETED"],
        ["IN_PROGRESS", "APPROVED", "COMPLETED"],
        ["REJECTED"],
        ["IN_PROGRESS", "REJECTED"],
        ["IN_PROGRESS", "NEEDS_INFO", "REJECTED"],
        ["IN_PROGRESS", "SCHEDULED", "IN_PROGRESS", "APPROVED", "COMPLETED"],
    ]


def test_walks_cover_every_operator_transition():
    from kabinet.resolvers.requests import Actor

    covered = set()
    for walk in walks():
        previous = "submitted"
        for status in walk:
            covered.add((previous, status.lower()))
            previous = status.lower()
    allowed = {
        (source.value, target.value)
        for source, targets in TRANSITIONS.items()
        for target, actor in targets.items()
        if actor is Actor.OPERATOR
    }
    assert covered == allowed


@pytest.mark.parametrize("walk", walks())
async def test_every_allowed_operator_transition(api: Api, token: str, operator: str, walk: list):
    request = await callback(api, token)
    for status in walk:
        extra = (
            {"scheduledAt": (now() + timedelta(days=1)).isoformat()}
            if status == "SCHEDULED"
            else {}
        )
        result = await change(api, operator, request["id"], status, comment=f"→ {status}", **extra)
        assert result["status"] == status, result
    assert [h["status"] for h in result["history"]] == ["SUBMITTED", *walk]
    assert all(h["byOperator"] for h in result["history"][1:])


@pytest.mark.parametrize(
    ("walk", "forbidden"),
    [
        ([], "COMPLETED"),
        ([], "SCHEDULED"),
        (["IN_PROGRESS", "APPROVED"], "REJECTED"),
        (["REJECTED"], "IN_PROGRESS"),
        ([], "CANCELLED"),
    ],
)
async def test_forbidden_transitions_name_the_current_status(
    api: Api, token: str, operator: str, walk: list, forbidden: str
):
    request = await callback(api, token)
    for status in walk:
        await change(api, operator, request["id"], status)
    current = walk[-1] if walk else "SUBMITTED"
    extra = (
        {"scheduledAt": (now() + timedelta(days=1)).isoformat()} if forbidden == "SCHEDULED" else {}
    )

    refused = await change(api, operator, request["id"], forbidden, **extra)

    assert (refused["__typename"], refused["code"]) == ("NotAllowed", "TRANSITION_NOT_ALLOWED")
    label = translate(f"status.{current.lower()}", Locale.UK)
    assert refused["message"] == translate("error.transition_not_allowed", Locale.UK, status=label)
    assert current not in refused["message"]  # a person reads the label, not the enum
    assert (await RequestDocument.find_one({})).status.name == current


async def test_scheduling_needs_a_future_time(api: Api, token: str, operator: str):
    request = await callback(api, token)
    await change(api, operator, request["id"], "IN_PROGRESS")
    refused = await change(api, operator, request["id"], "SCHEDULED")
    assert refused["fields"][0]["code"] == "SCHEDULED_AT_REQUIRED"


async def test_owner_cancels_before_the_work_is_done(api: Api, token: str, operator: str):
    request = await callback(api, token)
    await change(api, operator, request["id"], "IN_PROGRESS")

    cancelled = await api.data(
        CANCEL_REQUEST,
        {"input": {"requestId": request["id"], "reason": "Вже не треба"}},
        token=token,
    )

    assert cancelled["cancelRequest"]["status"] == "CANCELLED"
    assert cancelled["cancelRequest"]["history"][-1] == {
        "status": "CANCELLED",
        "comment": "Вже не треба",
        "byOperator": False,
    }
    again = await api.data(CANCEL_REQUEST, {"input": {"requestId": request["id"]}}, token=token)
    assert again["cancelRequest"]["code"] == "TRANSITION_NOT_ALLOWED"


async def test_completed_request_cannot_be_cancelled(api: Api, token: str, operator: str):
    request = await callback(api, token)
    for status in ("IN_PROGRESS", "APPROVED", "COMPLETED"):
        await change(api, operator, request["id"], status)
    refused = await api.data(CANCEL_REQUEST, {"input": {"requestId": request["id"]}}, token=token)
    assert refused["cancelRequest"]["__typename"] == "NotAllowed"
    assert "«виконано»" in refused["cancelRequest"]["message"]


async def test_needs_info_round_trip_with_a_file(api: Api, token: str, operator: str):
    request = await callback(api, token)
    await change(api, operator, request["id"], "IN_PROGRESS")
    await change(api, operator, request["id"], "NEEDS_INFO", comment="Надішліть фото рецепта")

    response = await multipart(
        api,
        token,
        ADD_COMMENT,
        {"input": {"requestId": request["id"], "text": "Ось рецепт", "attachments": [None]}},
        {"variables.input.attachments.0": ("рецепт.jpg", JPEG)},
    )
    answered = response.json()["data"]["addComment"]

    assert answered["status"] == "IN_PROGRESS"
    assert answered["comments"][0]["text"] == "Ось рецепт"
    assert answered["comments"][0]["attachments"][0]["contentType"] == "image/jpeg"
    assert [h["status"] for h in answered["history"]][-2:] == ["NEEDS_INFO", "IN_PROGRESS"]
    reply = await api.data(
        ADD_COMMENT, {"input": {"requestId": request["id"], "text": "Дякуємо"}}, token=operator
    )
    assert reply["addComment"]["comments"][1] == {
        "text": "Дякуємо",
        "byOperator": True,
        "attachments": [],
    }


async def test_concurrent_status_changes_cannot_overwrite_each_other(
    api: Api, token: str, operator: str
):
    second_operator = await staff_token(api, "operator2@example.com", "operator")
    request = await callback(api, token)
    await change(api, operator, request["id"], "IN_PROGRESS")

    results = await asyncio.gather(
        change(api, operator, request["id"], "APPROVED"),
        change(api, second_operator, request["id"], "REJECTED"),
    )

    winners = [r for r in results if r["__typename"] == "Request"]
    losers = [r for r in results if r["__typename"] == "NotAllowed"]
    assert (len(winners), len(losers)) == (1, 1)
    stored = await RequestDocument.find_one({})
    assert stored.status.name == winners[0]["status"]
    assert [h.status.name for h in stored.history] == [
        "SUBMITTED",
        "IN_PROGRESS",
        winners[0]["status"],
    ]


# ---- permissions and downloads


async def test_someone_elses_request_is_not_found(api: Api, mailbox: Mailbox, token: str):
    request = await callback(api, token)
    stranger = await customer(api, mailbox, "stranger@example.com", "+380501112233")

    for query, variables in (
        (CANCEL_REQUEST, {"input": {"requestId": request["id"]}}),
        (ADD_COMMENT, {"input": {"requestId": request["id"], "text": "Привіт"}}),
    ):
        result = next(iter((await api.data(query, variables, token=stranger)).values()))
        assert result["__typename"] == "NotFound"
    node = await api.data(
        "query($id: ID!) { node(id: $id) { id } }", {"id": request["id"]}, token=stranger
    )
    assert node["node"] is None
    assert (await RequestDocument.find_one({})).comments == []


async def test_customers_cannot_process_requests(api: Api, token: str):
    request = await callback(api, token)
    body = await api.post(
        CHANGE_STATUS, {"input": {"requestId": request["id"], "status": "IN_PROGRESS"}}, token=token
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await RequestDocument.find_one({})).status.name == "SUBMITTED"


async def test_download_serves_the_owner_and_staff_only(
    api: Api, mailbox: Mailbox, token: str, operator: str
):
    response = await reimbursement(
        api, token, {"variables.input.reimbursement.documents.0": ("Чек №1.pdf", PDF)}
    )
    url = response.json()["data"]["createRequest"]["attachments"][0]["url"]
    path = bearer_path(url)
    stranger = await customer(api, mailbox, "stranger@example.com", "+380501112233")

    owner = await api.http.get(path, headers={"Authorization": f"Bearer {token}"})
    staff = await api.http.get(path, headers={"Authorization": f"Bearer {operator}"})
    other = await api.http.get(path, headers={"Authorization": f"Bearer {stranger}"})
    anonymous = await api.http.get(path)

    assert owner.status_code == 200
    assert owner.content == PDF
    assert owner.headers["content-type"] == "application/pdf"
    assert owner.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''%D0%A7%D0%B5%D0%BA%20%E2%84%961.pdf"
    )
    assert staff.status_code == 200
    assert other.status_code == 404
    assert anonymous.status_code == 401


async def test_an_upload_needs_the_preflight_header_against_csrf(api: Api, token: str):
    """A multipart POST is what a forged cross-site form sends: refused, nothing stored,
    unless the client adds the header a browser can send only after a CORS preflight."""
    documents = {"variables.input.reimbursement.documents.0": ("чек.pdf", PDF)}
    fields = {
        "amount": "100.00",
        "serviceDate": (now().date() - timedelta(days=1)).isoformat(),
        "description": "Аналізи",
        "iban": VALID_IBAN,
        "documents": [None],
    }
    variables = {"input": {"reimbursement": fields}}

    refused = await multipart(api, token, CREATE_REQUEST, variables, documents, preflight=False)

    assert refused.status_code == 400
    assert "GraphQL-Require-Preflight" in refused.json()["errors"][0]["message"]
    assert (await RequestDocument.count(), await fs_files()) == (0, 0)

    accepted = await multipart(api, token, CREATE_REQUEST, variables, documents)

    assert accepted.status_code == 200
    assert accepted.json()["data"]["createRequest"]["attachments"][0]["filename"] == "чек.pdf"
    assert (await RequestDocument.count(), await fs_files()) == (1, 1)


async def test_times_without_a_zone_are_taken_as_utc(api: Api, token: str):
    start = (now() + timedelta(days=2)).replace(tzinfo=None, microsecond=0)
    naive = {"from": start.isoformat(), "to": (start + timedelta(hours=1)).isoformat()}
    result = await create(
        api, token, {"labTests": {"tests": ["Глюкоза"], "preferredTimes": [naive]}}
    )
    assert result["__typename"] == "Request"
    assert result["details"]["preferredTimes"][0]["from"].startswith(start.isoformat())


async def test_a_comment_is_kept_when_the_status_changes_at_the_same_time(
    api: Api, token: str, operator: str
):
    request = await callback(api, token)
    comment = api.data(
        ADD_COMMENT, {"input": {"requestId": request["id"], "text": "Чекаю"}}, token=token
    )
    results = await asyncio.gather(comment, change(api, operator, request["id"], "IN_PROGRESS"))

    assert results[0]["addComment"]["__typename"] == "Request"
    stored = await RequestDocument.find_one({})
    assert [c.text for c in stored.comments] == ["Чекаю"]
    assert stored.status.name == "IN_PROGRESS"


async def test_comments_sent_at_once_are_all_kept_and_answer_needs_info_once(
    api: Api, token: str, operator: str
):
    request = await callback(api, token)
    await change(api, operator, request["id"], "IN_PROGRESS")
    await change(api, operator, request["id"], "NEEDS_INFO", comment="Уточніть час")
    texts = [f"№{n}" for n in range(8)]  # half from the owner, half from the operator
    sends = [
        api.data(
            ADD_COMMENT,
            {"input": {"requestId": request["id"], "text": text}},
            token=operator if n % 2 else token,
        )
        for n, text in enumerate(texts)
    ]

    results = await asyncio.gather(*sends)

    assert [result["addComment"]["__typename"] for result in results] == ["Request"] * 8
    stored = await RequestDocument.find_one({"number": request["number"]})
    assert sorted(comment.text for comment in stored.comments) == texts
    assert [change.status.name for change in stored.history][-2:] == ["NEEDS_INFO", "IN_PROGRESS"]
    assert stored.status.name == "IN_PROGRESS"


async def test_node_with_an_unknown_type_is_a_client_error(api: Api, token: str):
    import base64

    body = await api.post(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": base64.b64encode(b"Nope:1").decode()},
        token=token,
    )
    assert body["errors"][0].get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR"


def comments_document(request_id: str, count: int) -> str:
    """One document adding ``count`` comments (aliases stay under the limit of 15)."""
    return (
        "mutation { "
        + " ".join(
            f'c{n}: addComment(input: {{requestId: "{request_id}", text: "№{n}"}}) '
            "{ __typename ... on Error { code } }"
            for n in range(count)
        )
        + " }"
    )


async def test_a_customer_writes_at_most_sixty_comments_an_hour(api: Api, token: str):
    at_the_start_of_a_window(timedelta(hours=1))  # every attempt in one fixed window
    request = await callback(api, token)
    answers: list[dict] = []
    for _ in range(5):  # 75 attempts
        answers += (await api.data(comments_document(request["id"], 15), token=token)).values()
    kinds = [answer["__typename"] for answer in answers]
    assert kinds == ["Request"] * 60 + ["RateLimited"] * 15


async def test_a_request_holds_at_most_a_hundred_comments(api: Api, token: str, operator: str):
    request = await callback(api, token)
    answers: list[dict] = []
    for _ in range(7):  # 105 attempts; staff are not rate-limited
        answers += (await api.data(comments_document(request["id"], 15), token=operator)).values()
    assert [answer["__typename"] for answer in answers[:100]] == ["Request"] * 100
    assert {answer.get("code") for answer in answers[100:]} == {"TOO_MANY_COMMENTS"}
    stored = await RequestDocument.find_one({"number": request["number"]})
    assert len(stored.comments) == 100
