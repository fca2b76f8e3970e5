"""The permission table (issue 15 item 3): every operation of tests/operations.py, for
each kind of caller, with the answer it must get (the shape of Polar's
`tests/customer/test_endpoints.py`).

An outcome is `DATA` (the root field answered), `NULL` (it answered null), `typed(code)`
(a typed error of the result union: `... on Error { code }`), `refused(code)` (a GraphQL
error: `UNAUTHENTICATED`, `FORBIDDEN`), `LISTENING` (a subscription that runs) or
`SOCKET_CLOSED` (no signed-in socket, so no subscription). A new operation without a
row, or a root field of the schema that no row reaches, fails the test."""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import graphql
import pytest
import websockets
from strawberry import relay

import tests.operations
from kabinet.auth.passwords import HASHER
from kabinet.auth.sessions import start_session
from kabinet.documents import ContactDocument, ContactKind, Role, UserDocument
from kabinet.schema import build_schema
from tests.operations import CREATE_REQUEST
from tests.policies import PHONE, card
from tests.subscriptions import running_subscriptions
from tests.support import PASSWORD, Api, eventually

OTHER_PHONE = "+380501112233"
ROLES = ("anonymous", "customer", "another customer", "operator", "admin")
NEW_PASSWORD = "Another-pass2"
# An unknown link token: as long as a real one, so it is judged as one.
UNKNOWN_TOKEN = "x" * 43

DATA = "data"
NULL = "null"
LISTENING = "listening"
SOCKET_CLOSED = "socket closed"


def typed(code: str) -> str:
    return f"typed {code}"


def refused(code: str) -> str:
    return f"refused {code}"


SIGNED_IN = refused("UNAUTHENTICATED")
STAFF_ONLY = {
    "anonymous": SIGNED_IN,
    "customer": refused("FORBIDDEN"),
    "another customer": refused("FORBIDDEN"),
    "operator": DATA,
    "admin": DATA,
}


def everyone(outcome: str) -> dict[str, str]:
    return dict.fromkeys(ROLES, outcome)


def signed_in(outcome: str = DATA, *, anonymous: str = SIGNED_IN) -> dict[str, str]:
    return {**everyone(outcome), "anonymous": anonymous}


def owner_only(owner: str = DATA, others: str = typed("NOT_FOUND")) -> dict[str, str]:
    return {**signed_in(others), "customer": owner}


@dataclass(frozen=True, slots=True)
class World:
    """A customer (Olena) with a card, a confirmed phone and a request; another customer
    with a card of his own; an operator and an administrator. ``tokens`` by role."""

    tokens: dict[str, str | None]
    request_id: str
    card_id: str
    contact_id: str


type Variables = Callable[[World, str], dict[str, Any]]


def none(world: World, role: str) -> dict[str, Any]:
    return {}


def request_input(**fields: object) -> Variables:
    return lambda world, role: {"input": {"requestId": world.request_id, **fields}}


def contact_input(**fields: object) -> Variables:
    return lambda world, role: {"input": {"contactId": world.contact_id, **fields}}


@dataclass(frozen=True, slots=True)
class Row:
    expected: dict[str, str]
    variables: Variables = none
    files: dict[str, tuple[str, bytes]] | None = None


REGISTRY_CSV = (
    "number,insurer,program,status,valid_from,valid_to,full_name,birth_date,phones,"
    "relationship\nUA-9,Демо,Оптимальний,ACTIVE,2026-01-01,2026-12-31,Бондар Ігор,,"
    "+380671110000,SELF\n"
).encode()

PROVIDERS_CSV = (
    'code,kind,name,city,address\nKY-1,clinic,Клініка «Оберіг»,Київ,"вул. Зоологічна, 3"\n'
).encode()

TABLE: dict[str, Row] = {
    "REGISTER": Row(
        everyone(DATA),
        lambda world, role: {
            "input": {
                "email": f"new-{role.replace(' ', '-')}@example.com",
                "password": PASSWORD,
                "passwordConfirmation": PASSWORD,
            }
        },
    ),
    "CONFIRM_EMAIL": Row(
        everyone(typed("TOKEN_EXPIRED")),
        lambda world, role: {"input": {"token": UNKNOWN_TOKEN, "password": PASSWORD}},
    ),
    "LOGIN": Row(
        everyone(typed("INVALID_CREDENTIALS")),
        lambda world, role: {"input": {"email": "olena@example.com", "password": NEW_PASSWORD}},
    ),
    "RESET_PASSWORD": Row(
        everyone(typed("TOKEN_EXPIRED")),
        lambda world, role: {
            "input": {
                "token": UNKNOWN_TOKEN,
                "password": NEW_PASSWORD,
                "passwordConfirmation": NEW_PASSWORD,
            }
        },
    ),
    "RESEND_CONFIRMATION": Row(
        everyone(DATA), lambda world, role: {"input": {"email": "olena@example.com"}}
    ),
    "REQUEST_PASSWORD_RESET": Row(
        everyone(DATA), lambda world, role: {"input": {"email": "olena@example.com"}}
    ),
    "CHANGE_PASSWORD": Row(
        signed_in(typed("INVALID_CREDENTIALS")),
        lambda world, role: {
            "input": {
                "currentPassword": NEW_PASSWORD,
                "password": NEW_PASSWORD,
                "passwordConfirmation": NEW_PASSWORD,
            }
        },
    ),
    "ME": Row(signed_in(anonymous=NULL)),
    "LOGOUT": Row(signed_in()),
    "LOGOUT_EVERYWHERE": Row(signed_in()),
    "PROFILE": Row(signed_in(anonymous=NULL)),
    "UPDATE_PROFILE": Row(signed_in(), lambda world, role: {"input": {"locale": "EN"}}),
    "ADD_CONTACT": Row(signed_in(), lambda world, role: {"input": {"value": "more@example.com"}}),
    "VERIFY_CONTACT": Row(owner_only(), contact_input(code="000000")),
    "VERIFY_CONTACT_WITH_POLICIES": Row(owner_only(), contact_input(code="000000")),
    "RESEND_CONTACT_CODE": Row(owner_only(typed("CONTACT_ALREADY_VERIFIED")), contact_input()),
    "REMOVE_CONTACT": Row(owner_only(typed("LAST_PHONE_HAS_POLICIES")), contact_input()),
    "SET_ADDRESS": Row(
        signed_in(),
        lambda world, role: {
            "input": {"kind": "HOME", "city": "Київ", "street": "Хрещатик", "building": "1"}
        },
    ),
    "REMOVE_ADDRESS": Row(
        signed_in(typed("NOT_FOUND")),
        lambda world, role: {"input": {"addressId": world.contact_id}},
    ),
    "MY_POLICIES": Row(signed_in(anonymous=NULL)),
    "SELECT_POLICY": Row(owner_only(), lambda world, role: {"input": {"policyId": world.card_id}}),
    "REFRESH_POLICIES": Row(signed_in()),
    # Staff may revoke the links of any card, as they may print it.
    "REVOKE_CARD_LINKS": Row(
        {**signed_in(), "another customer": typed("NOT_FOUND")},
        lambda world, role: {"input": {"policyId": world.card_id}},
    ),
    "UPDATE_POLICY_PHONES": Row(
        STAFF_ONLY, lambda world, role: {"input": {"policyId": world.card_id, "phones": [PHONE]}}
    ),
    "FIND_POLICIES": Row(STAFF_ONLY, lambda world, role: {"search": "UA-1"}),
    "IMPORT_POLICIES": Row(
        {**STAFF_ONLY, "operator": refused("FORBIDDEN")},
        lambda world, role: {"file": None},
        files={"variables.file": ("registry.csv", REGISTRY_CSV)},
    ),
    "MY_COVERAGE": Row(signed_in(anonymous=NULL)),
    # Staff may check any card, as they read any.
    "COVERAGE_CHECK": Row(
        {**signed_in(), "another customer": typed("NOT_FOUND")},
        lambda world, role: {"policyId": world.card_id, "kind": "OUTPATIENT_VISITS"},
    ),
    "CREATE_REQUEST_COVERAGE": Row(
        {
            **signed_in(),
            "operator": typed("NO_ACTIVE_POLICY"),
            "admin": typed("NO_ACTIVE_POLICY"),
        },
        lambda world, role: {"input": {"callback": {"topic": "Питання щодо поліса"}}},
    ),
    "PROVIDERS": Row(signed_in(), lambda world, role: {"filter": {"city": "Київ"}}),
    "IMPORT_PROVIDERS": Row(
        {**STAFF_ONLY, "operator": refused("FORBIDDEN")},
        lambda world, role: {"file": None},
        files={"variables.file": ("providers.csv", PROVIDERS_CSV)},
    ),
    "CREATE_REQUEST": Row(
        {
            **signed_in(),
            "operator": typed("NO_ACTIVE_POLICY"),
            "admin": typed("NO_ACTIVE_POLICY"),
        },
        lambda world, role: {"input": {"callback": {"topic": "Питання щодо поліса"}}},
    ),
    # The operator takes the request; the administrator, after, rejects it.
    "CHANGE_STATUS": Row(
        STAFF_ONLY,
        lambda world, role: {
            "input": {
                "requestId": world.request_id,
                "status": "REJECTED" if role == "admin" else "IN_PROGRESS",
            }
        },
    ),
    "CANCEL_REQUEST": Row(owner_only(), request_input()),
    "ADD_COMMENT": Row(
        {**owner_only(), "operator": DATA, "admin": DATA}, request_input(text="Дякую")
    ),
    "ADD_INTERNAL_NOTE": Row(
        {**owner_only(typed("INVALID_INPUT")), "operator": DATA, "admin": DATA},
        lambda world, role: {"requestId": world.request_id, "text": "Перевірити поліс"},
    ),
    # Release: nobody holds the request, so staff get it back unchanged.
    "ASSIGN_REQUEST": Row(STAFF_ONLY, request_input(operatorId=None)),
    # The world's request is a callback.
    "RECORD_CALL_ATTEMPT": Row(STAFF_ONLY, request_input(result="NO_ANSWER")),
    # No files (and a callback): refused as input, after the permission check.
    "UPLOAD_LAB_RESULTS": Row(
        {**STAFF_ONLY, "operator": typed("INVALID_INPUT"), "admin": typed("INVALID_INPUT")},
        request_input(files=[]),
    ),
    # A callback has no payout: refused as input, after the permission check.
    "RECORD_PAYOUT": Row(
        {**STAFF_ONLY, "operator": typed("INVALID_INPUT"), "admin": typed("INVALID_INPUT")},
        request_input(status="PENDING", amount="10.00"),
    ),
    "MY_REQUESTS": Row(signed_in(anonymous=NULL)),
    "REQUEST_QUEUE": Row(STAFF_ONLY),
    "DUE_QUEUE": Row(STAFF_ONLY, lambda world, role: {"orderBy": "DUE_SOONEST"}),
    "QUEUE_COUNTS": Row(STAFF_ONLY),
    "NODE": Row(
        {**owner_only(others=NULL), "anonymous": NULL, "operator": DATA, "admin": DATA},
        lambda world, role: {"id": world.request_id},
    ),
    "PASSWORD_POLICY": Row(everyone(DATA)),
    "UPDATE_NOTIFICATION_SETTINGS": Row(
        signed_in(), lambda world, role: {"input": {"sms": ["COMPLETED"], "email": []}}
    ),
    "EXPORT_MY_DATA": Row(signed_in()),
    "DELETE_ACCOUNT": Row(signed_in(), lambda world, role: {"input": {"password": PASSWORD}}),
    "SECURITY_EVENTS": Row(
        {**STAFF_ONLY, "operator": refused("FORBIDDEN")}, lambda world, role: {"first": 5}
    ),
    "REQUEST_UPDATED": Row(
        signed_in(LISTENING, anonymous=SOCKET_CLOSED), lambda world, role: {"id": None}
    ),
    "REQUEST_QUEUE_UPDATED": Row(
        {**STAFF_ONLY, "anonymous": SOCKET_CLOSED, "operator": LISTENING, "admin": LISTENING}
    ),
    "ENUM_LABELS": Row(everyone(DATA)),
}


def documents() -> dict[str, graphql.DocumentNode]:
    """Every operation document of tests/operations.py, by its name there."""
    found = {}
    for name, value in vars(tests.operations).items():
        if not name.isupper() or not isinstance(value, str):
            continue
        try:
            document = graphql.parse(value)
        except graphql.GraphQLError:
            continue  # a piece of a document (a selection shared by several)
        found[name] = document
    return found


def root_field(document: graphql.DocumentNode) -> tuple[str, str]:
    (operation,) = document.definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    (field,) = operation.selection_set.selections
    assert isinstance(field, graphql.FieldNode)
    return operation.operation.value, field.name.value


def test_every_operation_and_root_field_has_a_row():
    schema = build_schema()._schema
    every_root_field = {
        (kind, name)
        for kind, root in (
            ("query", schema.query_type),
            ("mutation", schema.mutation_type),
            ("subscription", schema.subscription_type),
        )
        if root is not None
        for name in root.fields
    }
    operations = documents()

    assert set(TABLE) == set(operations)
    assert {root_field(document) for document in operations.values()} == every_root_field
    assert all(set(row.expected) == set(ROLES) for row in TABLE.values())


@pytest.fixture(scope="module")
def password_hash() -> str:
    return HASHER.hash(PASSWORD)


async def account(email: str, role: Role, password_hash: str) -> tuple[UserDocument, str]:
    user = UserDocument(email=email, password_hash=password_hash, email_confirmed=True, role=role)
    await user.insert()
    issued = await start_session(user, ttl=timedelta(days=1), user_agent=None, ip=None)
    return user, issued.token


@pytest.fixture
async def world(api: Api, password_hash: str) -> World:
    olena, olena_token = await account("olena@example.com", Role.CUSTOMER, password_hash)
    taras, taras_token = await account("taras@example.com", Role.CUSTOMER, password_hash)
    _, operator = await account("operator@example.com", Role.OPERATOR, password_hash)
    _, admin = await account("admin@example.com", Role.ADMIN, password_hash)
    policy = await card("UA-1", PHONE)
    await card("UA-2", OTHER_PHONE)
    contact = ContactDocument.confirmed(olena.id, ContactKind.PHONE, PHONE)
    await contact.insert()
    await ContactDocument.confirmed(taras.id, ContactKind.PHONE, OTHER_PHONE).insert()
    filed = await api.data(
        CREATE_REQUEST, {"input": {"callback": {"topic": "Консультація"}}}, token=olena_token
    )
    tokens = {
        "anonymous": None,
        "customer": olena_token,
        "another customer": taras_token,
        "operator": operator,
        "admin": admin,
    }
    return World(
        tokens=tokens,
        request_id=filed["createRequest"]["id"],
        card_id=relay.to_base64("Policy", str(policy.id)),
        contact_id=relay.to_base64("Contact", str(contact.id)),
    )


def answer(body: dict[str, Any], field: str) -> str:
    if body.get("errors"):
        return refused(body["errors"][0]["extensions"]["code"])
    value = body["data"][field]
    if value is None:
        return NULL
    if isinstance(value, dict) and "code" in value:
        return typed(value["code"])
    return DATA


async def over_http(api: Api, row: Row, query: str, variables: dict, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if row.files is None:
        response = await api.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        return response.json()
    response = await api.http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": query, "variables": variables}),
            "map": json.dumps({str(i): [path] for i, path in enumerate(row.files)}),
        },
        files={str(i): file for i, file in enumerate(row.files.values())},
        headers={**headers, "GraphQL-Require-Preflight": "1"},
    )
    return response.json()


async def over_websocket(server: str, query: str, variables: dict, token: str | None) -> str:
    """What a subscription gets: an error, or a place among the running subscriptions."""
    url = server.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        try:
            assert json.loads(await ws.recv())["type"] == "connection_ack"
        except websockets.ConnectionClosed:
            return SOCKET_CLOSED
        before = await running_subscriptions(server)
        payload = {"query": query, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))

        async def settled() -> str | None:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.05))
            except TimeoutError:
                return LISTENING if await running_subscriptions(server) > before else None
            assert message["type"] == "error", message
            return refused(message["payload"][0]["extensions"]["code"])

        return await eventually(settled)


@pytest.mark.parametrize("name", sorted(TABLE))
async def test_each_caller_gets_the_answer_the_table_gives(
    api: Api, server: str, world: World, name: str
):
    row = TABLE[name]
    document = documents()[name]
    kind, field = root_field(document)
    query = getattr(tests.operations, name)
    got = {}
    for role in ROLES:
        token = world.tokens[role]
        variables = row.variables(world, role)
        if kind == "subscription":
            got[role] = await over_websocket(server, query, variables, token)
        else:
            got[role] = answer(await over_http(api, row, query, variables, token), field)

    assert got == row.expected
