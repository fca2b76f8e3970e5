"""Lists of requests: `me.requests` and the operators' `requestQueue`."""

from datetime import timedelta

import pytest
from strawberry import relay

from kabinet.auth.context import Caller
from kabinet.auth.sessions import resolve_session
from kabinet.clock import clock
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import PolicyDocument, RequestDocument, UserDocument
from kabinet.resolvers.requests import RequestSummary
from kabinet.schema import build_schema
from kabinet.schema.context import Context
from kabinet.schema.requests.types import SUMMARY_FIELDS
from kabinet.services import Services
from tests.operations import ASSIGN_REQUEST, CHANGE_STATUS, MY_REQUESTS, REQUEST_QUEUE
from tests.policies import staff_token
from tests.requests_support import PDF, callback, create, customer, multipart, window
from tests.support import Api, CommandLog, Mailbox


@pytest.fixture
async def token(api: Api, mailbox: Mailbox) -> str:
    return await customer(api, mailbox)


async def my_requests(api: Api, token: str, **variables: object) -> dict:
    return (await api.data(MY_REQUESTS, variables, token=token))["me"]["requests"]


async def test_pages_newest_first_with_stable_cursors(api: Api, token: str):
    numbers = []
    for _ in range(7):
        numbers.append((await callback(api, token))["number"])
        clock.advance(timedelta(seconds=1))
    newest_first = numbers[::-1]

    first = await my_requests(api, token, first=3)
    second = await my_requests(api, token, first=3, after=first["pageInfo"]["endCursor"])
    last = await my_requests(api, token, first=3, after=second["pageInfo"]["endCursor"])

    pages = [[e["node"]["number"] for e in page["edges"]] for page in (first, second, last)]
    assert pages == [newest_first[:3], newest_first[3:6], newest_first[6:]]
    assert [page["pageInfo"]["hasNextPage"] for page in (first, second, last)] == [
        True,
        True,
        False,
    ]
    assert first["totalCount"] == 7


async def test_requests_with_equal_times_are_not_skipped_or_repeated(api: Api, token: str):
    clock.advance(timedelta(0))
    created = {(await callback(api, token))["number"] for _ in range(4)}
    await RequestDocument.get_pymongo_collection().update_many(
        {}, {"$set": {"created_at": clock.now()}}
    )
    seen = []
    after = None
    while True:
        page = await my_requests(api, token, first=1, after=after)
        seen += [e["node"]["number"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(created)


async def test_page_size_is_capped_at_100(api: Api, token: str):
    await callback(api, token)
    page = await my_requests(api, token, first=10_000)
    assert page["totalCount"] == 1


async def test_filters(api: Api, token: str):
    operator = await staff_token(api, "operator@example.com", "operator")
    call = await callback(api, token)
    lab = await create(
        api, token, {"labTests": {"tests": ["Глюкоза"], "preferredTimes": [window()]}}
    )
    await api.data(
        CHANGE_STATUS, {"input": {"requestId": lab["id"], "status": "IN_PROGRESS"}}, token=operator
    )

    by_kind = await my_requests(api, token, filter={"kinds": ["CALLBACK"]})
    by_status = await my_requests(api, token, filter={"statuses": ["IN_PROGRESS"]})
    none_yet = await my_requests(
        api, token, filter={"createdFrom": (clock.now() + timedelta(hours=1)).isoformat()}
    )
    unknown_card = await my_requests(api, token, filter={"policyId": "bm9wZQ=="})

    assert [e["node"]["number"] for e in by_kind["edges"]] == [call["number"]]
    assert [e["node"]["number"] for e in by_status["edges"]] == [lab["number"]]
    assert none_yet["totalCount"] == 0
    assert unknown_card["totalCount"] == 0


async def test_customers_see_only_their_own_and_operators_see_all(
    api: Api, mailbox: Mailbox, token: str
):
    mine = await callback(api, token)
    other = await customer(api, mailbox, "other@example.com", "+380501112233")
    theirs = await callback(api, other)
    operator = await staff_token(api, "operator@example.com", "operator")

    assert [e["node"]["number"] for e in (await my_requests(api, token))["edges"]] == [
        mine["number"]
    ]
    queue = (await api.data(REQUEST_QUEUE, token=operator))["requestQueue"]
    assert {e["node"]["number"] for e in queue["edges"]} == {mine["number"], theirs["number"]}
    assert {e["node"]["applicant"]["email"] for e in queue["edges"]} == {
        "olena@example.com",
        "other@example.com",
    }
    refused = await api.post(REQUEST_QUEUE, token=token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("size", [5, 50])
async def test_queue_costs_the_same_number_of_commands_for_5_and_50_requests(
    api: Api, mailbox: Mailbox, command_log: CommandLog, size: int
):
    tokens = [
        await customer(api, mailbox, "a@example.com", "+380671234567"),
        await customer(api, mailbox, "b@example.com", "+380501112233"),
    ]
    upload = await multipart(
        api,
        tokens[0],
        """mutation($input: CreateRequestInput!) { createRequest(input: $input) { __typename } }""",
        {
            "input": {
                "reimbursement": {
                    "amount": "10",
                    "serviceDate": clock.now().date().isoformat(),
                    "description": "Чек",
                    "iban": "UA213223130000026007233566001",
                    "documents": [None],
                }
            }
        },
        {"variables.input.reimbursement.documents.0": ("чек.pdf", PDF)},
    )
    assert upload.json()["data"]["createRequest"]["__typename"] == "Request"
    for n in range(size - 1):
        await callback(api, tokens[n % 2])
    operator = await staff_token(api, "operator@example.com", "operator")

    start = len(command_log.commands)
    queue = (await api.data(REQUEST_QUEUE, {"first": 100}, token=operator))["requestQueue"]
    commands = command_log.during_request(start)

    assert len(queue["edges"]) == size
    assert sum(len(e["node"]["attachments"]) for e in queue["edges"]) == 1
    # session, user, page, count, the cards in one query, the applicants in one query
    assert sorted(commands) == [
        ("count", "requests"),
        ("find", "policies"),
        ("find", "requests"),
        ("find", "sessions"),
        ("find", "users"),
        ("find", "users"),
    ], commands


FIRST_SCREEN = """{
  me {
    contacts { value primary }
    policies { number active }
    requests(first: 20) { edges { node { number policy { number active } } } }
  }
}"""
# The page before the cards: each request's card is then awaited instead of known at once.
REQUESTS_FIRST = FIRST_SCREEN.replace("    policies { number active }\n", "").replace(
    "  }\n}", "    policies { number active }\n  }\n}"
)


@pytest.mark.parametrize(
    "screen", [FIRST_SCREEN, REQUESTS_FIRST], ids=["cards-first", "page-first"]
)
@pytest.mark.parametrize("size", [3, 20])
async def test_first_screen_reads_contacts_cards_and_page_once_and_counts_nothing(
    api: Api, token: str, command_log: CommandLog, size: int, screen: str
):
    for _ in range(size):
        await callback(api, token)
    await api.data(screen, token=token)  # settles the active card once

    start, projected = len(command_log.commands), len(command_log.projections)
    me = (await api.data(screen, token=token))["me"]
    commands = command_log.during_request(start)

    assert me["policies"] == [{"number": "UA-1", "active": True}]
    assert [e["node"]["policy"] for e in me["requests"]["edges"]] == [
        {"number": "UA-1", "active": True}
    ] * size
    # The contacts serve `contacts` and the cards; the page's cards are the linked ones;
    # no count, as totalCount is not asked for.
    assert sorted(commands) == [
        ("find", "contacts"),
        ("find", "policies"),
        ("find", "requests"),
        ("find", "sessions"),
        ("find", "users"),
    ], commands
    # The page reads only the list's fields of each request; everything else is read whole
    # (a projection costs the embedded engine a copy of each document).
    assert [(c, sorted(p)) for c, p in command_log.projections[projected:]] == [
        ("requests", sorted(RequestSummary.FIELDS))
    ]


async def test_a_card_named_by_every_request_of_a_page_is_built_once(
    api: Api, token: str, settings: Settings, database: Database
):
    for _ in range(3):
        await callback(api, token)
    resolved = await resolve_session(token, ttl=settings.session_ttl)
    assert resolved is not None
    session, user = resolved
    caller = Caller(
        user=user, session=session, locale=user.locale, ip="::1", user_agent=None, request_id="t"
    )
    context = Context(caller=caller, services=Services.of(settings, database))

    result = await build_schema().execute(FIRST_SCREEN, context_value=context)

    assert result.errors is None
    assert result.data is not None
    me = result.data["me"]
    assert [e["node"]["policy"] for e in me["requests"]["edges"]] == me["policies"] * 3
    # `me.policies` and the three requests show one card as one view, built once.
    card = await PolicyDocument.find_one({"number": "UA-1"})
    assert card is not None
    views = context.loaders.card_views
    assert [(shown.id, *key[1:]) for key, (shown, _) in views.items()] == [(card.id, True, False)]


async def test_a_request_shows_its_card_after_the_card_is_unlinked(api: Api, token: str):
    await callback(api, token)
    card = await PolicyDocument.find_one({"number": "UA-1"})
    assert card is not None
    await card.set({"phones": []})

    me = (await api.data(FIRST_SCREEN, token=token))["me"]

    assert me["policies"] == []
    assert me["requests"]["edges"][0]["node"]["policy"] == {"number": "UA-1", "active": False}


# `history` needs the whole document: asked for directly, through a named fragment and an
# inline one.
HISTORY_PAGES = {
    "field": "{ me { requests { edges { node { number history { status } } } } } }",
    "fragment": """{ me { requests { ...Page } } }
fragment Page on RequestConnection { edges { node { number ...Steps } } }
fragment Steps on Request { history { status } }""",
    "inline": "{ me { requests { edges { ... on RequestEdge { node { number "
    "... on Request { history { status } } } } } } } }",
}


@pytest.mark.parametrize("query", list(HISTORY_PAGES.values()), ids=list(HISTORY_PAGES))
@pytest.mark.parametrize("size", [3, 20])
async def test_a_page_reads_whole_requests_when_a_field_needs_them_at_no_extra_command(
    api: Api, token: str, command_log: CommandLog, size: int, query: str
):
    for _ in range(size):
        await callback(api, token)

    start, projected = len(command_log.commands), len(command_log.projections)
    edges = (await api.data(query, token=token))["me"]["requests"]["edges"]
    commands = command_log.during_request(start)

    assert [edge["node"]["history"] for edge in edges] == [[{"status": "SUBMITTED"}]] * size
    assert sorted(commands) == [("find", "requests"), ("find", "sessions"), ("find", "users")]
    assert command_log.projections[projected:] == []


def _summary_selection() -> str:
    """Every field a page serves from `RequestSummary`, with what a staff member sees."""
    below = {
        "assignee": "{ firstName user { email } }",
        "policy": "{ number active }",
        "applicant": "{ email }",
    }
    return " ".join(f"{name} {below.get(name, '')}" for name in sorted(SUMMARY_FIELDS))


async def test_a_page_of_summaries_shows_what_the_whole_request_shows(
    api: Api, mailbox: Mailbox, command_log: CommandLog
):
    token = await customer(api, mailbox, "a@example.com", "+380671234567")
    assigned, _ = await callback(api, token), await callback(api, token)
    operator = await staff_token(api, "operator@example.com", "operator")
    operator_user = await UserDocument.find_one({"email": "operator@example.com"})
    assert operator_user is not None
    operator_id = relay.to_base64("User", str(operator_user.id))
    assign = {"input": {"requestId": assigned["id"], "operatorId": operator_id}}
    assert (await api.data(ASSIGN_REQUEST, assign, token=operator))["assignRequest"]["assignee"]
    fields = _summary_selection()

    projected = len(command_log.projections)
    page = await api.data(
        f"{{ requestQueue {{ edges {{ node {{ {fields} }} }} }} }}", token=operator
    )
    nodes = [edge["node"] for edge in page["requestQueue"]["edges"]]
    assert [c for c, _ in command_log.projections[projected:]] == ["requests"]
    aliases = " ".join(
        f'n{n}: node(id: "{node["id"]}") {{ ... on Request {{ {fields} }} }}'
        for n, node in enumerate(nodes)
    )
    whole = await api.data(f"{{ {aliases} }}", token=operator)

    assert nodes == [whole[f"n{n}"] for n in range(len(nodes))]
    assert sum(node["assignee"] is not None for node in nodes) == 1


APPLICANTS = """{
  requestQueue(first: 100) {
    edges { node { number applicant { email contacts { value } policies { number } } } }
  }
}"""


@pytest.mark.parametrize("applicants", [2, 5])
async def test_a_queue_page_reads_its_applicants_contacts_and_cards_once(
    api: Api, mailbox: Mailbox, command_log: CommandLog, applicants: int
):
    for n in range(applicants):
        token = await customer(api, mailbox, f"c{n}@example.com", f"+38067123450{n}")
        await callback(api, token)
    operator = await staff_token(api, "operator@example.com", "operator")
    await api.data(APPLICANTS, token=operator)  # settles each applicant's active card once

    start = len(command_log.commands)
    edges = (await api.data(APPLICANTS, token=operator))["requestQueue"]["edges"]
    commands = command_log.during_request(start)

    assert sorted(edge["node"]["applicant"]["email"] for edge in edges) == [
        f"c{n}@example.com" for n in range(applicants)
    ]
    assert all(len(edge["node"]["applicant"]["policies"]) == 1 for edge in edges)
    # session, operator, page, the applicants, then every applicant's contacts in one
    # query and every applicant's cards in one more
    assert sorted(commands) == [
        ("find", "contacts"),
        ("find", "policies"),
        ("find", "requests"),
        ("find", "sessions"),
        ("find", "users"),
        ("find", "users"),
    ], commands


@pytest.mark.parametrize("lookups", [2, 6])
async def test_node_lookups_of_requests_are_one_query(
    api: Api, mailbox: Mailbox, token: str, command_log: CommandLog, lookups: int
):
    filed = [await callback(api, token) for _ in range(lookups)]
    other = await customer(api, mailbox, "other@example.com", "+380501112233")
    theirs = await callback(api, other)
    aliases = " ".join(
        f'n{n}: node(id: "{request["id"]}") {{ ... on Request {{ number }} }}'
        for n, request in enumerate([*filed, theirs])
    )

    start = len(command_log.commands)
    found = await api.data(f"{{ {aliases} }}", token=token)
    commands = command_log.during_request(start)

    assert [found[f"n{n}"] for n in range(lookups)] == [
        {"number": request["number"]} for request in filed
    ]
    assert found[f"n{lookups}"] is None  # another customer's request is not found
    assert sorted(commands) == [("find", "requests"), ("find", "sessions"), ("find", "users")]
