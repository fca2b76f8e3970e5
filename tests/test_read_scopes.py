"""Read scopes (issue 15 item 2): what each caller may read of requests, cards, contacts,
files and security events, through every path (list, node, download, update)."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from kabinet.clock import now
from kabinet.documents import ContactDocument, PolicyDocument, RequestDocument, UserDocument
from kabinet.resolvers.requests.reading import may_read, readable
from kabinet.resolvers.scopes import NOTHING, within
from tests.operations import (
    ADD_COMMENT,
    CANCEL_REQUEST,
    CREATE_REQUEST,
    FIND_POLICIES,
    MY_REQUESTS,
    REMOVE_CONTACT,
    REQUEST_QUEUE,
    RESEND_CONTACT_CODE,
    UPDATE_POLICY_PHONES,
)
from tests.policies import PHONE, staff_token
from tests.requests_support import PDF, VALID_IBAN, callback, customer, multipart
from tests.support import PASSWORD, Api, Mailbox, bearer_path

OTHER_PHONE = "+380501112233"
NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename
    ... on Request { number }
    ... on Policy { number phones active }
    ... on Contact { value primary }
    ... on SecurityEvent { action }
  }
}
"""
OWN = "query { me { contacts { id } policies { id } } }"
EVENT_IDS = "query { securityEvents(first: 1) { edges { node { id } } } }"


@dataclass(frozen=True, slots=True)
class World:
    """Olena's request (with a file), card and contact; Taras, another customer; staff."""

    olena: str
    taras: str
    operator: str
    admin: str
    request_id: str
    file_path: str
    card_id: str
    contact_id: str
    event_id: str


@pytest.fixture
async def world(api: Api, mailbox: Mailbox) -> World:
    olena = await customer(api, mailbox)
    taras = await customer(api, mailbox, "taras@example.com", OTHER_PHONE)
    operator = await staff_token(api, "operator@example.com", "operator")
    admin = await staff_token(api, "admin@example.com", "admin")
    fields = {
        "amount": "100.00",
        "serviceDate": (now().date() - timedelta(days=1)).isoformat(),
        "description": "Аналізи",
        "iban": VALID_IBAN,
        "documents": [None],
    }
    filed = await multipart(
        api,
        olena,
        CREATE_REQUEST,
        {"input": {"reimbursement": fields}},
        {"variables.input.reimbursement.documents.0": ("чек.pdf", PDF)},
    )
    request = filed.json()["data"]["createRequest"]
    own = (await api.data(OWN, token=olena))["me"]
    events = await api.data(EVENT_IDS, token=admin)
    return World(
        olena=olena,
        taras=taras,
        operator=operator,
        admin=admin,
        request_id=request["id"],
        file_path=bearer_path(request["attachments"][0]["url"]),
        card_id=own["policies"][0]["id"],
        contact_id=own["contacts"][0]["id"],
        event_id=events["securityEvents"]["edges"][0]["node"]["id"],
    )


async def node(api: Api, node_id: str, token: str) -> dict | None:
    return (await api.data(NODE, {"id": node_id}, token=token))["node"]


async def download(api: Api, world: World, token: str) -> int:
    response = await api.http.get(world.file_path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def error_code(api: Api, query: str, variables: dict, token: str) -> str:
    body = await api.post(query, variables, token=token)
    return body["errors"][0]["extensions"]["code"]


async def test_a_customer_reads_no_other_customers_request_by_any_path(api: Api, world: World):
    request = {"requestId": world.request_id}
    cancelled = await api.data(CANCEL_REQUEST, {"input": request}, token=world.taras)
    commented = await api.data(
        ADD_COMMENT, {"input": {**request, "text": "Моє"}}, token=world.taras
    )
    listed = await api.data(MY_REQUESTS, token=world.taras)

    assert await node(api, world.request_id, world.taras) is None
    assert listed["me"]["requests"]["totalCount"] == 0
    assert cancelled["cancelRequest"]["code"] == "NOT_FOUND"
    assert commented["addComment"]["code"] == "NOT_FOUND"
    assert await download(api, world, world.taras) == 404
    stored = await RequestDocument.find_one({})
    assert (stored.status.name, stored.comments) == ("SUBMITTED", [])
    # The owner reads it by every path.
    assert (await node(api, world.request_id, world.olena))["number"] == stored.number
    assert (await api.data(MY_REQUESTS, token=world.olena))["me"]["requests"]["totalCount"] == 1
    assert await download(api, world, world.olena) == 200


async def test_staff_read_every_request_and_only_its_owner_cancels_it(api: Api, world: World):
    cancelled = await api.data(
        CANCEL_REQUEST, {"input": {"requestId": world.request_id}}, token=world.operator
    )
    queue = await api.data(REQUEST_QUEUE, token=world.operator)

    for staff in (world.operator, world.admin):
        assert (await node(api, world.request_id, staff))["__typename"] == "Request"
        assert await download(api, world, staff) == 200
    assert queue["requestQueue"]["totalCount"] == 1
    # The lifecycle lets only the owner cancel: staff reach the request but not that action.
    assert cancelled["cancelRequest"]["code"] == "NOT_FOUND"
    assert (await RequestDocument.find_one({})).status.name == "SUBMITTED"


async def test_a_customer_reads_only_the_cards_their_phones_link(api: Api, world: World):
    phones = {"input": {"policyId": world.card_id, "phones": [OTHER_PHONE]}}

    assert await node(api, world.card_id, world.taras) is None
    assert await error_code(api, FIND_POLICIES, {"search": "UA-1"}, world.taras) == "FORBIDDEN"
    assert await error_code(api, UPDATE_POLICY_PHONES, phones, world.taras) == "FORBIDDEN"
    assert (await PolicyDocument.find_one({"number": "UA-1"})).phones == [PHONE]
    assert await node(api, world.card_id, world.olena) == {
        "__typename": "Policy",
        "number": "UA-1",
        "phones": None,
        "active": True,
    }


async def test_staff_read_every_card(api: Api, world: World):
    found = await api.data(FIND_POLICIES, {"search": "UA-1"}, token=world.operator)

    assert await node(api, world.card_id, world.operator) == {
        "__typename": "Policy",
        "number": "UA-1",
        "phones": [PHONE],
        "active": False,
    }
    assert [edge["node"]["number"] for edge in found["findPolicies"]["edges"]] == ["UA-1"]


async def test_a_customer_reads_only_their_own_contacts_and_staff_read_any(api: Api, world: World):
    contact = {"input": {"contactId": world.contact_id}}

    removed = await api.data(REMOVE_CONTACT, contact, token=world.taras)
    resent = await api.data(RESEND_CONTACT_CODE, contact, token=world.taras)
    by_operator = await api.data(REMOVE_CONTACT, contact, token=world.operator)

    assert await node(api, world.contact_id, world.taras) is None
    assert removed["removeContact"]["code"] == "NOT_FOUND"
    assert resent["resendContactCode"]["code"] == "NOT_FOUND"
    # Staff read an applicant's contacts, but changing them is the owner's alone.
    assert by_operator["removeContact"]["code"] == "NOT_FOUND"
    expected = {"__typename": "Contact", "value": PHONE, "primary": True}
    assert await node(api, world.contact_id, world.operator) == expected
    assert await node(api, world.contact_id, world.olena) == expected
    assert await ContactDocument.find({"value": PHONE}).count() == 1


async def test_the_live_events_test_of_a_request_agrees_with_the_requests_scope(
    api: Api, world: World
):
    """`may_read` decides which live events reach a subscriber; `readable` which requests
    every query reads: for each caller, both pick the same requests."""
    await callback(api, world.taras)
    every = await RequestDocument.find_all().to_list()
    users = {user.email.split("@")[0]: user for user in await UserDocument.find_all().to_list()}
    owned_by = {name: {r.id for r in every if r.user_id == users[name].id} for name in users}
    expected = {
        "olena": owned_by["olena"],
        "taras": owned_by["taras"],
        "operator": {r.id for r in every},
        "admin": {r.id for r in every},
    }

    for name, readers in expected.items():
        caller = users[name]
        queried = {r.id for r in await RequestDocument.find(within(readable(caller), {})).to_list()}
        assert {r.id for r in every if may_read(caller, r)} == queried == readers, name
    assert not any(may_read(None, r) for r in every)
    assert len(owned_by["olena"]) == len(owned_by["taras"]) == 1


SIGNED_IN_ACCOUNT = """
mutation($input: LoginInput!) {
  login(input: $input) {
    ... on AuthSuccess {
      token
      user { contacts { id } policies { id } activePolicy { id } }
    }
  }
}
"""


async def test_a_sign_in_answers_with_the_account_as_it_reads_itself(api: Api, world: World):
    """The request that signs in carries no session, so its caller is nobody; the account
    its answer shows is read by the account itself, as its next requests will be: its
    contacts and cards (requests are listed by `me`, with the token)."""
    credentials = {"input": {"email": "olena@example.com", "password": PASSWORD}}

    signed_in = (await api.data(SIGNED_IN_ACCOUNT, credentials))["login"]

    own = (await api.data(OWN, token=signed_in["token"]))["me"]
    assert own == {"contacts": [{"id": world.contact_id}], "policies": [{"id": world.card_id}]}
    assert signed_in["user"] == {**own, "activePolicy": {"id": world.card_id}}
    # Taras, signing in, reads his own account: his card, none of Olena's data.
    taras = {"input": {"email": "taras@example.com", "password": PASSWORD}}
    his = (await api.data(SIGNED_IN_ACCOUNT, taras))["login"]["user"]
    assert len(his["policies"]) == 1
    assert {"id": world.card_id} not in his["policies"]
    assert {"id": world.contact_id} not in his["contacts"]


async def test_only_administrators_read_security_events(api: Api, world: World):
    for reader in (world.olena, world.taras, world.operator):
        assert await node(api, world.event_id, reader) is None
        assert await error_code(api, EVENT_IDS, {}, reader) == "FORBIDDEN"
    assert (await node(api, world.event_id, world.admin))["__typename"] == "SecurityEvent"


def test_a_query_outside_its_scope_matches_nothing():
    mine = {"user_id": "olena"}

    assert within(mine, {"_id": 1}) == {"_id": 1, "user_id": "olena"}
    assert within(mine, {"_id": 1, "user_id": "taras"}) == NOTHING
    assert within(None, {"_id": 1}) == NOTHING
    assert within({}, {"_id": 1}) == {"_id": 1}


def test_a_scope_with_an_operator_narrows_a_query_with_the_same_one():
    """The cards' scope has an `$or` (the guardian cut-off): a query's own `$or` is kept
    beside it, not mistaken for another value of a field."""
    cards = {"phones": {"$in": ["+380671234567"]}, "$or": [{"ends": None}, {"ends": 1}]}
    search = {"$or": [{"number": "UA-1"}, {"number": "UA-2"}]}

    assert within(cards, search) == {"$and": [search, cards]}
    assert within(cards, {"_id": 1}) == {"_id": 1, **cards}
    # A customer's linked cards: the query is the scope, stated once.
    assert within(cards, dict(cards)) == cards
