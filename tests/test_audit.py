"""The security audit log: what is recorded, who may read it, and how it pages."""

import json
from datetime import timedelta

import pytest

from kabinet.clock import now
from kabinet.documents import AuditAction, AuditEventDocument, UserDocument
from tests.accounts import login, signed_up
from tests.operations import (
    ADD_COMMENT,
    ADD_CONTACT,
    CHANGE_PASSWORD,
    CHANGE_STATUS,
    DELETE_ACCOUNT,
    EXPORT_MY_DATA,
    LOGOUT,
    LOGOUT_EVERYWHERE,
    REMOVE_CONTACT,
    REQUEST_PASSWORD_RESET,
    RESET_PASSWORD,
    SECURITY_EVENTS,
    UPDATE_POLICY_PHONES,
    VERIFY_CONTACT,
)
from tests.policies import card, staff_token
from tests.requests_support import callback, customer
from tests.support import PASSWORD, Api, CommandLog, Mailbox, SmsGateway, link_token, sms_code

EMAIL = "olena@example.com"
NEW_PASSWORD = "Another-pass-2"


@pytest.fixture
async def admin(api: Api) -> str:
    return await staff_token(api, "admin@example.com", "admin")


async def events(api: Api, admin: str, **variables: object) -> dict:
    return (await api.data(SECURITY_EVENTS, variables, token=admin))["securityEvents"]


async def own_id(api: Api, token: str) -> str:
    return (await api.data("{ me { id } }", token=token))["me"]["id"]


async def about(api: Api, admin: str, user_id: str) -> list[dict]:
    """The events by or about an account, newest first."""
    page = await events(api, admin, first=100, filter={"userId": user_id})
    return [edge["node"] for edge in page["edges"]]


async def test_sign_ins_are_recorded_with_address_client_and_request_id(
    api: Api, mailbox: Mailbox, admin: str
):
    token = await signed_up(api, mailbox, EMAIL)
    headers = {"User-Agent": "Kabinet-Test/1.0", "X-Request-ID": "req-audit-0001"}
    await api.post(
        'mutation($e: String!) { login(input: {email: $e, password: "Wrong-pass-9"}) '
        "{ __typename } }",
        {"e": EMAIL},
        headers=headers,
    )
    await api.post(
        'mutation { login(input: {email: "nobody@example.com", password: "Typed-secret-1"}) '
        "{ __typename } }"
    )
    second = (await login(api, EMAIL))["token"]
    await api.data(LOGOUT, token=second)
    user_id = await own_id(api, token)
    await api.data(LOGOUT_EVERYWHERE, token=token)

    nodes = [edge["node"] for edge in (await events(api, admin, first=6))["edges"]]

    assert [node["action"] for node in nodes] == [
        "LOGOUT_EVERYWHERE",
        "LOGOUT",
        "LOGIN",
        "LOGIN_FAILED",
        "LOGIN_FAILED",
        "EMAIL_CONFIRMED",
    ]
    assert [node["action"] for node in await about(api, admin, user_id)] == [
        "LOGOUT_EVERYWHERE",
        "LOGOUT",
        "LOGIN",
        "LOGIN_FAILED",
        "EMAIL_CONFIRMED",
    ]
    wrong_password = nodes[4]
    assert wrong_password["subject"] == {"email": EMAIL}
    assert wrong_password["actor"] is None
    assert json.loads(wrong_password["after"]) == {"reason": "wrong_password"}
    assert (wrong_password["ip"], wrong_password["userAgent"]) == ("127.0.0.1", "Kabinet-Test/1.0")
    assert wrong_password["requestId"] == "req-audit-0001"
    unknown = nodes[3]
    assert (unknown["subjectId"], unknown["actorId"]) == (None, None)
    assert json.loads(unknown["after"]) == {"reason": "unknown_account"}
    stored = json.dumps(
        [event.model_dump(mode="json") for event in await AuditEventDocument.find().to_list()]
    )
    assert "nobody@example.com" not in stored
    assert "Typed-secret-1" not in stored
    assert "Wrong-pass-9" not in stored
    login_event = nodes[2]
    assert login_event["actor"] == login_event["subject"] == {"email": EMAIL}
    assert login_event["actorRole"] == "CUSTOMER"


async def test_password_changes_and_resets_are_recorded(api: Api, mailbox: Mailbox, admin: str):
    token = await signed_up(api, mailbox, EMAIL)
    user_id = await own_id(api, token)
    await api.data(
        CHANGE_PASSWORD,
        {
            "input": {
                "currentPassword": PASSWORD,
                "password": NEW_PASSWORD,
                "passwordConfirmation": NEW_PASSWORD,
            }
        },
        token=token,
    )
    await api.data(REQUEST_PASSWORD_RESET, {"input": {"email": EMAIL}})
    await api.data(REQUEST_PASSWORD_RESET, {"input": {"email": "nobody@example.com"}})
    link = link_token(await mailbox.wait_for(EMAIL, "Зміна пароля"))
    await api.data(
        RESET_PASSWORD,
        {"input": {"token": link, "password": PASSWORD, "passwordConfirmation": PASSWORD}},
    )

    nodes = await about(api, admin, user_id)

    assert [node["action"] for node in nodes] == [
        "PASSWORD_RESET",
        "PASSWORD_RESET_REQUESTED",
        "PASSWORD_CHANGED",
        "EMAIL_CONFIRMED",
    ]
    assert all(node["subject"] == {"email": EMAIL} for node in nodes)
    # Nothing is written for an address without an account.
    assert await AuditEventDocument.find({"subject_id": None}).count() == 0


async def test_contact_changes_are_recorded_without_the_contact(
    api: Api, mailbox: Mailbox, sms_gateway: SmsGateway, admin: str
):
    token = await signed_up(api, mailbox, EMAIL)
    user_id = await own_id(api, token)
    phone = "+380931234567"
    added = (await api.data(ADD_CONTACT, {"input": {"value": phone}}, token=token))["addContact"]
    code = sms_code((await sms_gateway.wait_for(phone))[0])
    await api.data(VERIFY_CONTACT, {"input": {"contactId": added["id"], "code": code}}, token=token)
    await api.data(REMOVE_CONTACT, {"input": {"contactId": added["id"]}}, token=token)

    nodes = (await about(api, admin, user_id))[:3]

    assert [node["action"] for node in nodes] == [
        "CONTACT_REMOVED",
        "CONTACT_VERIFIED",
        "CONTACT_ADDED",
    ]
    assert {node["targetId"] for node in nodes} == {added["id"]}
    assert {node["after"] for node in nodes} == {'{"kind": "phone"}'}
    assert all(phone not in json.dumps(node) for node in nodes)


async def test_staff_actions_are_recorded(api: Api, mailbox: Mailbox, admin: str):
    token = await customer(api, mailbox)
    request = await callback(api, token)
    operator = await staff_token(api, "operator@example.com", "operator")
    await api.data(
        CHANGE_STATUS,
        {"input": {"requestId": request["id"], "status": "IN_PROGRESS"}},
        token=operator,
    )
    policy = await card("UA-7", "+380501112233")
    policy_id = (
        await api.data(
            'query { findPolicies(search: "UA-7") { edges { node { id } } } }', token=operator
        )
    )["findPolicies"]["edges"][0]["node"]["id"]
    await api.data(
        UPDATE_POLICY_PHONES, {"input": {"policyId": policy_id, "phones": []}}, token=operator
    )

    comment = {"input": {"requestId": request["id"], "text": "Лікар чекає на вас"}}
    await api.data(ADD_COMMENT, comment, token=operator)
    await api.data(ADD_COMMENT, comment, token=token)  # the owner's own words are no staff action

    status_events = await events(api, admin, filter={"action": "REQUEST_STATUS_CHANGED"})
    phone_events = await events(api, admin, filter={"action": "POLICY_PHONES_UPDATED"})
    comment_events = await events(api, admin, filter={"action": "REQUEST_COMMENTED"})
    assert comment_events["totalCount"] == 1
    commented = comment_events["edges"][0]["node"]
    assert (commented["actor"], commented["subject"]) == (
        {"email": "operator@example.com"},
        {"email": EMAIL},
    )
    assert "Лікар" not in json.dumps(commented)  # what staff wrote stays on the request

    changed = status_events["edges"][0]["node"]
    assert status_events["totalCount"] == 1
    assert changed["actor"] == {"email": "operator@example.com"}
    assert changed["actorRole"] == "OPERATOR"
    assert changed["subject"] == {"email": EMAIL}
    assert changed["targetId"] == request["id"]
    assert json.loads(changed["before"]) == {"status": "submitted"}
    assert json.loads(changed["after"]) == {"status": "in_progress"}
    updated = phone_events["edges"][0]["node"]
    assert (updated["targetType"], updated["targetId"]) == ("policy", policy_id)
    assert json.loads(updated["before"]) == {"phones": policy.phones}


async def test_export_and_deletion_are_recorded_and_the_subject_id_outlives_the_account(
    api: Api, mailbox: Mailbox, admin: str
):
    token = await signed_up(api, mailbox, EMAIL)
    user_id = await own_id(api, token)
    await api.data(EXPORT_MY_DATA, token=token)
    await api.data(DELETE_ACCOUNT, {"input": {"password": PASSWORD}}, token=token)

    nodes = await about(api, admin, user_id)

    assert [node["action"] for node in nodes] == [
        "ACCOUNT_DELETED",
        "DATA_EXPORTED",
        "EMAIL_CONFIRMED",
    ]
    assert all(node["subjectId"] == user_id for node in nodes)
    assert all(node["subject"] is None for node in nodes)


async def test_only_administrators_read_the_log(api: Api, mailbox: Mailbox, admin: str):
    token = await signed_up(api, mailbox, EMAIL)
    operator = await staff_token(api, "operator@example.com", "operator")
    event_id = (await events(api, admin, first=1))["edges"][0]["node"]["id"]
    node = "query($id: ID!) { node(id: $id) { id ... on SecurityEvent { action } } }"

    anonymous = await api.post(SECURITY_EVENTS)
    customer_ = await api.post(SECURITY_EVENTS, token=token)
    operator_ = await api.post(SECURITY_EVENTS, token=operator)

    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert customer_["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert operator_["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for viewer in (token, operator):
        assert (await api.data(node, {"id": event_id}, token=viewer))["node"] is None
    assert (await api.data(node, {"id": event_id}, token=admin))["node"]["id"] == event_id


async def insert_events(count: int, actors: list[UserDocument]) -> None:
    """Events by and about a few accounts, one second apart (written directly: the paths
    that write them are tested above)."""
    start = now() - timedelta(hours=1)
    for n in range(count):
        actor = actors[n % len(actors)]
        await AuditEventDocument(
            at=start + timedelta(seconds=n),
            action=AuditAction.LOGIN,
            actor_id=actor.id,
            actor_role=actor.role.value,
            subject_id=actor.id,
            ip="203.0.113.7",
        ).insert()


async def test_pages_newest_first_with_filters(api: Api, mailbox: Mailbox, admin: str):
    olena_id = await own_id(api, await signed_up(api, mailbox, EMAIL))
    olena = await UserDocument.find_one({"email": EMAIL})
    admin_user = await UserDocument.find_one({"email": "admin@example.com"})
    await AuditEventDocument.find().delete()
    await insert_events(7, [olena, admin_user])

    first = await events(api, admin, first=3)
    second = await events(api, admin, first=3, after=first["pageInfo"]["endCursor"])
    last = await events(api, admin, first=3, after=second["pageInfo"]["endCursor"])
    hers = await events(api, admin, first=10, filter={"userId": olena_id})
    nobody = await events(api, admin, filter={"userId": "bm9ib2R5"})
    logouts = await events(api, admin, filter={"action": "LOGOUT"})

    times = [e["node"]["at"] for page in (first, second, last) for e in page["edges"]]
    assert len(times) == 7
    assert times == sorted(times, reverse=True)
    assert [p["pageInfo"]["hasNextPage"] for p in (first, second, last)] == [True, True, False]
    assert first["totalCount"] == 7
    assert hers["totalCount"] == 4
    assert {e["node"]["subject"]["email"] for e in hers["edges"]} == {EMAIL}
    assert nobody["totalCount"] == 0
    assert logouts["totalCount"] == 0


@pytest.mark.parametrize("size", [5, 50])
async def test_a_page_costs_the_same_number_of_commands_for_5_and_50_events(
    api: Api, mailbox: Mailbox, command_log: CommandLog, admin: str, size: int
):
    accounts = []
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        await signed_up(api, mailbox, email)
        accounts.append(await UserDocument.find_one({"email": email}))
    await AuditEventDocument.find().delete()
    await insert_events(size, accounts)

    start = len(command_log.commands)
    page = await events(api, admin, first=100)
    commands = [name for name, _ in command_log.during_request(start)]

    assert len(page["edges"]) == size
    assert {e["node"]["actor"]["email"] for e in page["edges"]} == {
        "a@example.com",
        "b@example.com",
        "c@example.com",
    }
    # session, user, page, count, the actors and subjects in one query
    assert commands == ["find", "find", "find", "count", "find"], commands
