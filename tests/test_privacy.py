"""A person's data: `exportMyData` (everything held, nobody else's) and `deleteAccount`."""

import json
from dataclasses import dataclass

import pytest
import websockets

from kabinet.clock import now
from kabinet.db import Database
from kabinet.documents import (
    AuditEventDocument,
    ContactDocument,
    EmailTokenDocument,
    OutboxMessageDocument,
    RequestDocument,
    SessionDocument,
    UserDocument,
)
from kabinet.resolvers import privacy
from tests.accounts import login, register, signed_up
from tests.operations import (
    ADD_COMMENT,
    ADD_CONTACT,
    CHANGE_PASSWORD,
    CHANGE_STATUS,
    CREATE_REQUEST,
    DELETE_ACCOUNT,
    EXPORT_MY_DATA,
    LOGIN,
    ME,
    PROFILE,
    REQUEST_PASSWORD_RESET,
    REQUEST_QUEUE,
    SET_ADDRESS,
    UPDATE_PROFILE,
)
from tests.policies import card, staff_token
from tests.requests_support import JPEG, PDF, VALID_IBAN, create, customer, multipart, window
from tests.subscriptions import UPDATED, next_message, subscribed
from tests.support import PASSWORD, Api, Mailbox, SmsGateway, at_the_start_of_a_window

OTHER_IBAN = "UA433052990000026201234567890"


@dataclass(frozen=True, slots=True)
class Person:
    """A customer with data in every area, and the values that identify them."""

    token: str
    email: str
    phone: str
    second_email: str
    last_name: str
    street: str
    iban: str
    topic: str
    policy_number: str
    request_numbers: tuple[str, ...]
    request_ids: tuple[str, ...]


async def person(
    api: Api,
    mailbox: Mailbox,
    operator: str,
    *,
    email: str,
    phone: str,
    last_name: str,
    street: str,
    iban: str,
) -> Person:
    """Profile, address, a confirmed phone with a card, an unconfirmed email, a reimbursement
    with a file, a callback, and the operator's status change and comment with a file."""
    policy_number = f"UA-{phone[-4:]}"
    await card(policy_number, phone, name=f"{last_name} Марія")
    token = await customer(api, mailbox, email, phone)
    await api.data(
        UPDATE_PROFILE,
        {"input": {"lastName": last_name, "firstName": "Марія", "birthDate": "1990-01-02"}},
        token=token,
    )
    address = await api.data(
        SET_ADDRESS,
        {"input": {"kind": "HOME", "city": "Київ", "street": street, "building": "7"}},
        token=token,
    )
    second_email = f"second.{email}"
    await api.data(ADD_CONTACT, {"input": {"value": second_email}}, token=token)
    money = await multipart(
        api,
        token,
        CREATE_REQUEST,
        {
            "input": {
                "reimbursement": {
                    "amount": "1250.50",
                    "serviceDate": now().date().isoformat(),
                    "description": f"Аналізи {last_name}",
                    "iban": iban,
                    "documents": [None],
                }
            }
        },
        {"variables.input.reimbursement.documents.0": ("чек.pdf", PDF)},
    )
    reimbursement = money.json()["data"]["createRequest"]
    topic = f"Передзвоніть {last_name}"
    call = await create(api, token, {"callback": {"topic": topic}})
    visit = await create(
        api,
        token,
        {
            "doctorAppointment": {
                "specialty": "Терапевт",
                "reason": f"Кашель {last_name}",
                "preferredTimes": [window()],
                "homeVisit": True,
                "addressId": address["setAddress"]["id"],
            }
        },
    )
    await api.data(
        CHANGE_STATUS,
        {
            "input": {
                "requestId": reimbursement["id"],
                "status": "IN_PROGRESS",
                "comment": f"Перевіряємо, {last_name}",
            }
        },
        token=operator,
    )
    commented = await multipart(
        api,
        operator,
        ADD_COMMENT,
        {"input": {"requestId": reimbursement["id"], "text": "Акт", "attachments": [None]}},
        {"variables.input.attachments.0": ("акт.jpg", JPEG)},
    )
    assert commented.json()["data"]["addComment"]["__typename"] == "Request"
    requests = (reimbursement, call, visit)
    return Person(
        token=token,
        email=email,
        phone=phone,
        second_email=second_email,
        last_name=last_name,
        street=street,
        iban=iban,
        topic=topic,
        policy_number=policy_number,
        request_numbers=tuple(r["number"] for r in requests),
        request_ids=tuple(r["id"] for r in requests),
    )


async def olena_with_everything(api: Api, mailbox: Mailbox, operator: str) -> Person:
    """Olena: a `person` with everything the export and the erasure cover."""
    return await person(
        api,
        mailbox,
        operator,
        email="olena@example.com",
        phone="+380671234567",
        last_name="Коваленко",
        street="Хрещатик",
        iban=VALID_IBAN,
    )


@pytest.fixture
async def olena(api: Api, mailbox: Mailbox, operator: str) -> Person:
    return await olena_with_everything(api, mailbox, operator)


@pytest.fixture
async def taras(api: Api, mailbox: Mailbox, operator: str) -> Person:
    return await person(
        api,
        mailbox,
        operator,
        email="taras@example.com",
        phone="+380501112233",
        last_name="Шевченко",
        street="Володимирська",
        iban=OTHER_IBAN,
    )


def identifiers(someone: Person) -> list[str]:
    return [
        someone.email,
        someone.phone,
        someone.second_email,
        someone.last_name,
        someone.street,
        someone.iban,
        someone.topic,
        someone.policy_number,
        *someone.request_numbers,
    ]


async def export(api: Api, token: str) -> tuple[dict, str, list[dict]]:
    result = (await api.data(EXPORT_MY_DATA, token=token))["exportMyData"]
    return json.loads(result["json"]), result["json"], result["files"]


async def delete(api: Api, token: str, password: str = PASSWORD) -> dict:
    variables = {"input": {"password": password}}
    return (await api.data(DELETE_ACCOUNT, variables, token=token))["deleteAccount"]


async def fs_count() -> tuple[int, int]:
    database = RequestDocument.get_pymongo_collection().database
    return (
        await database["fs.files"].count_documents({}),
        await database["fs.chunks"].count_documents({}),
    )


# ---- export


async def test_export_needs_sign_in(api: Api):
    body = await api.post(EXPORT_MY_DATA)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_export_holds_everything_about_the_caller_and_nothing_about_anyone_else(
    api: Api, olena: Person, taras: Person
):
    data, text, files = await export(api, olena.token)

    assert (data["format"], data["formatVersion"]) == ("kabinet.data-export", 1)
    assert text == json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    assert data["account"] | {"createdAt": None, "updatedAt": None} == {
        "email": olena.email,
        "emailConfirmed": True,
        "role": "CUSTOMER",
        "locale": "UK",
        "activePolicyNumber": olena.policy_number,
        "createdAt": None,
        "updatedAt": None,
    }
    assert data["profile"] == {
        "lastName": olena.last_name,
        "firstName": "Марія",
        "middleName": None,
        "gender": None,
        "birthDate": "1990-01-02",
    }
    assert [(c["kind"], c["value"], c["verified"]) for c in data["contacts"]] == [
        ("PHONE", olena.phone, True),
        ("EMAIL", olena.second_email, False),
    ]
    assert [a["street"] for a in data["addresses"]] == [olena.street]
    assert data["notificationSettings"]["sms"] == [
        "SCHEDULED",
        "NEEDS_INFO",
        "COMPLETED",
        "REJECTED",
    ]
    assert data["sessions"][0]["current"] is True
    assert data["sessions"][0]["ip"] == "127.0.0.1"
    assert data["sessions"][0]["userAgent"].startswith("python-httpx")
    assert [link["purpose"] for link in data["emailLinks"]] == ["CONFIRM_EMAIL"]
    assert [(p["number"], p["active"]) for p in data["policies"]] == [(olena.policy_number, True)]
    assert [r["number"] for r in data["requests"]] == list(olena.request_numbers)
    money = data["requests"][0]
    assert money["policyNumber"] == olena.policy_number
    assert money["details"]["iban"] == olena.iban
    assert money["history"][-1] == {
        "status": "IN_PROGRESS",
        "at": money["history"][-1]["at"],
        "comment": f"Перевіряємо, {olena.last_name}",
        "byOperator": True,
    }
    assert money["comments"][0]["text"] == "Акт"
    assert money["attachments"][0]["filename"] == "чек.pdf"
    assert data["requests"][2]["details"]["address"]["street"] == olena.street
    actions = [event["action"] for event in data["securityEvents"]]
    assert actions == [
        "EMAIL_CONFIRMED",
        "CONTACT_ADDED",
        "REQUEST_STATUS_CHANGED",
        "REQUEST_COMMENTED",
    ]
    staff_change = data["securityEvents"][-2]
    assert (staff_change["byStaff"], staff_change["ip"]) == (True, None)
    assert data["securityEvents"][0]["ip"] == "127.0.0.1"
    assert sorted(f["filename"] for f in files) == ["акт.jpg", "чек.pdf"]
    download = await api.http.get(
        next(f["url"] for f in files if f["filename"] == "чек.pdf").removeprefix(
            "http://cabinet.test"
        ),
        headers={"Authorization": f"Bearer {olena.token}"},
    )
    assert download.content == PDF

    for value in identifiers(taras):
        assert value not in text, value
    operator = await UserDocument.find_one({"email": "operator@example.com"})
    for secret in ("operator@example.com", str(operator.id), "argon2", "Hash", "hash", "salt"):
        assert secret not in text, secret
    assert olena.token not in text


async def test_the_export_is_recorded(api: Api, olena: Person):
    await export(api, olena.token)
    user = await UserDocument.find_one({"email": olena.email})
    event = await AuditEventDocument.find_one({"action": "account.data_exported"})
    assert (event.subject_id, event.actor_id) == (user.id, user.id)


# ---- deletion


async def test_delete_account_needs_sign_in(api: Api):
    body = await api.post(DELETE_ACCOUNT, {"input": {"password": PASSWORD}})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_wrong_password_deletes_nothing(api: Api, olena: Person):
    before = await export(api, olena.token)

    refused = await delete(api, olena.token, "Wrong-password-1")

    assert refused["__typename"] == "InvalidCredentials"
    assert refused["message"] == "Неправильний пароль."
    after = await export(api, olena.token)
    for section in ("account", "profile", "contacts", "addresses", "policies", "requests"):
        assert after[0][section] == before[0][section], section
    assert (await login(api, olena.email))["__typename"] == "AuthSuccess"
    assert await fs_count() == (2, 2)


async def test_password_checks_are_limited_per_account_together_with_change_password(
    api: Api, mailbox: Mailbox
):
    at_the_start_of_a_window()  # every attempt in one fixed window
    token = await signed_up(api, mailbox, "olena@example.com")
    wrong = {
        "currentPassword": "Wrong-1a",
        "password": "New-pass-1",
        "passwordConfirmation": "New-pass-1",
    }
    for _ in range(5):
        await api.data(CHANGE_PASSWORD, {"input": wrong}, token=token)
    for _ in range(5):
        assert (await delete(api, token, "Wrong-1a"))["__typename"] == "InvalidCredentials"

    limited = await delete(api, token)

    assert limited["__typename"] == "RateLimited"
    assert limited["retryAfterSeconds"] > 0
    assert (await api.data(ME, token=token))["me"]["email"] == "olena@example.com"


async def test_delete_account_erases_personal_data_and_keeps_requests_anonymised(
    api: Api, mailbox: Mailbox, sms_gateway: SmsGateway, olena: Person, taras: Person
):
    user = await UserDocument.find_one({"email": olena.email})
    second_session = (await login(api, olena.email))["token"]
    sms_gateway.down = True  # a code that cannot be delivered yet stays in the outbox
    await api.data(ADD_CONTACT, {"input": {"value": "+380931234567"}}, token=olena.token)
    assert await OutboxMessageDocument.find({"recipient": "+380931234567"}).count() == 1
    await api.data(REQUEST_PASSWORD_RESET, {"input": {"email": olena.email}})

    deleted = await delete(api, olena.token)

    assert deleted == {
        "__typename": "Accepted",
        "message": "Обліковий запис видалено: ваші персональні дані стерто, усі сеанси "
        "завершено. Заявки збережено знеособленими для обліку страховика.",
    }
    for token in (olena.token, second_session):
        assert (await api.data(ME, token=token))["me"] is None
    assert (await login(api, olena.email))["__typename"] == "InvalidCredentials"
    assert await UserDocument.get(user.id) is None
    for document in (SessionDocument, ContactDocument, EmailTokenDocument):
        assert await document.find({"user_id": user.id}).count() == 0, document
    recipients = [olena.email, olena.phone, olena.second_email, "+380931234567"]
    assert await OutboxMessageDocument.find({"recipient": {"$in": recipients}}).count() == 0

    money, call, visit = [
        await RequestDocument.find_one({"number": number}) for number in olena.request_numbers
    ]
    for request in (money, call, visit):
        assert request.anonymised_at is not None
        assert request.attachments == []
        assert request.comments == []
        assert all(change.comment is None for change in request.history)
        assert request.user_id == user.id  # an id that names no account any more
    assert (money.status.name, money.kind.name) == ("IN_PROGRESS", "REIMBURSEMENT")
    assert (money.details.amount, money.details.currency) == ("1250.50", "UAH")
    assert (money.details.iban, money.details.description) == ("", "")
    assert (call.details.phone, call.details.topic) == ("", None)
    assert (visit.details.specialty, visit.details.reason, visit.details.address) == (
        "Терапевт",
        None,
        None,
    )
    assert await fs_count() == (2, 2)  # Taras's files only
    stored = json.dumps(
        [r.model_dump(mode="json") for r in (money, call, visit)], ensure_ascii=False
    )
    for value in identifiers(olena):
        if value not in (olena.policy_number, *olena.request_numbers):
            assert value not in stored, value

    admin = await staff_token(api, "admin@example.com", "admin")
    queue = (await api.data(REQUEST_QUEUE, token=admin))["requestQueue"]
    kept = [e["node"] for e in queue["edges"] if e["node"]["number"] in olena.request_numbers]
    assert len(kept) == 3
    assert all(node["applicant"] is None and node["attachments"] == [] for node in kept)
    assert [e["node"]["applicant"] for e in queue["edges"]].count({"email": taras.email}) == 3
    assert (await login(api, taras.email))["__typename"] == "AuthSuccess"


async def test_the_email_registers_again_as_a_new_account(
    api: Api, mailbox: Mailbox, olena: Person
):
    old = await UserDocument.find_one({"email": olena.email})
    assert (await delete(api, olena.token))["__typename"] == "Accepted"
    mailbox.messages.clear()

    token = await signed_up(api, mailbox, olena.email, "Another-pass-2")

    me = (await api.data(PROFILE, token=token))["me"]
    assert me["contacts"] == []
    assert me["addresses"] == []
    assert me["profile"]["lastName"] is None
    new = await UserDocument.find_one({"email": olena.email})
    assert new.id != old.id
    data, _, files = await export(api, token)
    assert (data["requests"], files) == ([], [])


async def test_deletion_ends_open_subscriptions(api: Api, mailbox: Mailbox, server: str):
    token = await customer(api, mailbox)

    async with subscribed(server, token, UPDATED) as ws:
        assert (await delete(api, token))["__typename"] == "Accepted"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await next_message(ws, seconds=5)

    assert closed.value.rcvd.code == 4403


async def test_deleting_twice_at_once_erases_once(api: Api, olena: Person):
    both = await api.data(
        """mutation($input: DeleteAccountInput!) {
          a: deleteAccount(input: $input) { __typename }
          b: deleteAccount(input: $input) { __typename }
        }""",
        {"input": {"password": PASSWORD}},
        token=olena.token,
    )

    assert both == {"a": {"__typename": "Accepted"}, "b": {"__typename": "Accepted"}}
    assert await AuditEventDocument.find({"action": "account.deleted"}).count() == 1
    assert await UserDocument.find_one({"email": olena.email}) is None


async def test_an_interrupted_deletion_leaves_no_usable_account_and_is_finished_later(
    api: Api, mailbox: Mailbox, olena: Person, database: Database
):
    user = await UserDocument.find_one({"email": olena.email})
    # The first step of deleteAccount, after which the process died.
    await UserDocument.get_pymongo_collection().update_one(
        {"_id": user.id}, {"$set": {"deleting_since": now()}}
    )
    messages = await OutboxMessageDocument.count()

    assert (await api.data(ME, token=olena.token))["me"] is None
    assert (await login(api, olena.email))["__typename"] == "InvalidCredentials"
    await api.data(REQUEST_PASSWORD_RESET, {"input": {"email": olena.email}})
    assert (await register(api, olena.email))["__typename"] == "RegisterSuccess"
    assert await OutboxMessageDocument.count() == messages  # no link, no notice

    assert await privacy.finish_deletions(database) == 1

    assert await UserDocument.get(user.id) is None
    assert await ContactDocument.find({"user_id": user.id}).count() == 0
    assert await RequestDocument.find({"user_id": user.id, "anonymised_at": None}).count() == 0
    assert await fs_count() == (0, 0)
    assert await privacy.finish_deletions(database) == 0
    mailbox.messages.clear()
    token = await signed_up(api, mailbox, olena.email)
    assert (await api.data(ME, token=token))["me"]["email"] == olena.email


async def test_a_request_this_version_cannot_read_does_not_stop_the_deletion(
    api: Api, olena: Person
):
    collection = RequestDocument.get_pymongo_collection()
    unreadable, *_ = olena.request_numbers
    await collection.update_one({"number": unreadable}, {"$set": {"status": "LOST"}})

    assert (await delete(api, olena.token))["__typename"] == "Accepted"

    assert await UserDocument.find_one({"email": olena.email}) is None
    kept = await collection.find_one({"number": unreadable})
    assert kept["anonymised_at"] is not None
    assert kept["comments"] == []
    assert olena.topic not in json.dumps(kept, default=str)


async def test_an_account_being_deleted_is_not_told_about_its_requests(
    api: Api, olena: Person, operator: str
):
    user = await UserDocument.find_one({"email": olena.email})
    await UserDocument.get_pymongo_collection().update_one(
        {"_id": user.id}, {"$set": {"deleting_since": now()}}
    )
    messages = await OutboxMessageDocument.count()
    variables = {"input": {"requestId": olena.request_ids[0], "status": "NEEDS_INFO"}}
    variables["input"]["comment"] = "Надішліть, будь ласка, направлення."
    changed = (await api.data(CHANGE_STATUS, variables, token=operator))["changeRequestStatus"]
    assert changed["__typename"] == "Request"
    assert await OutboxMessageDocument.count() == messages


async def test_a_customer_trying_someone_elses_sign_in_is_not_called_staff(
    api: Api, olena: Person, taras: Person
):
    attempt = {"input": {"email": olena.email, "password": "Wrong-pass-1"}}
    assert (await api.data(LOGIN, attempt, token=taras.token))["login"]["__typename"] == (
        "InvalidCredentials"
    )
    data, _, _ = await export(api, olena.token)
    (failed,) = [event for event in data["securityEvents"] if event["action"] == "LOGIN_FAILED"]
    assert failed["byStaff"] is False
    assert failed["ip"] is None  # someone else's network details stay out of the export
