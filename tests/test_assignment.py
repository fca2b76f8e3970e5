"""Who handles a request (issue 16 item 1): `assignRequest`, `Request.assignee`, the queue's
filters, the race of two operators, live events, the audit, and bad input."""

import asyncio
from typing import Any

from strawberry import relay

from kabinet.documents import AuditEventDocument, RequestDocument, UserDocument
from kabinet.i18n import Locale, translate
from kabinet.resolvers.requests import lifecycle
from tests.operations import ASSIGN_REQUEST
from tests.policies import staff_token
from tests.requests_support import callback, customer
from tests.subscriptions import next_message, subscribed
from tests.support import Api, Mailbox
from tests.test_api_guide import operations as guide

ASSIGNEE = "node { ... on Request { id assignee { firstName user { email } } } }"
SEEN = f"query Seen($id: ID!) {{ {ASSIGNEE.replace('node {', 'node(id: $id) {')} }}"
QUEUE_IDS = """
query Queue($filter: RequestFilter) {
  requestQueue(first: 50, filter: $filter) { totalCount edges { node { number } } }
}
"""
LIVE_ASSIGNEE = """subscription($id: ID) {
  requestUpdated(requestId: $id) {
    assigneeChanged previousStatus request { status assignee { firstName user { email } } }
  }
}"""
REPLAY_ASSIGNEE = """subscription($id: ID, $since: DateTime) {
  requestUpdated(requestId: $id, since: $since) { request { assignee { firstName } } }
}"""
QUEUE_LIVE_ASSIGNEE = """subscription {
  requestQueueUpdated { assigneeChanged request { number assignee { firstName user { email } } } }
}"""


async def staff(api: Api, email: str, role: str, first_name: str) -> tuple[str, str]:
    """A staff member's token and `User` id, with a first name."""
    token = await staff_token(api, email, role)
    user = await UserDocument.find_one({"email": email})
    assert user is not None
    await user.set({"profile.first_name": first_name})
    return token, relay.to_base64("User", str(user.id))


async def speaking(email: str, locale: Locale) -> None:
    """The account's language, which its answers are in."""
    user = await UserDocument.find_one({"email": email})
    assert user is not None
    await user.set({"locale": locale})


async def assign(api: Api, token: str, request_id: str, operator_id: str | None, **kw: Any):
    variables = {"input": {"requestId": request_id, "operatorId": operator_id}}
    return await api.post(ASSIGN_REQUEST, variables, token=token, **kw)


async def stored(request_id: str) -> RequestDocument:
    found = await RequestDocument.get(relay.GlobalID.from_id(request_id).node_id)
    assert found is not None
    return found


async def assignments() -> list[AuditEventDocument]:
    return await AuditEventDocument.find({"action": "request.assigned"}).to_list()


async def test_an_operator_takes_and_releases_and_an_admin_reassigns(api: Api, mailbox: Mailbox):
    member = await customer(api, mailbox)
    filed = await callback(api, member)
    oksana, oksana_id = await staff(api, "oksana@example.com", "operator", "Оксана")
    _, petro_id = await staff(api, "petro@example.com", "operator", "Петро")
    admin, _ = await staff(api, "admin@example.com", "admin", "Ірина")
    ops = guide()

    taken = await api.data(
        ops["TakeRequest"], {"requestId": filed["id"], "me": oksana_id}, token=oksana
    )
    assert taken["assignRequest"]["assignee"] == {
        "firstName": "Оксана",
        "user": {"id": oksana_id, "email": "oksana@example.com"},
    }
    # The member sees the first name, nothing else of the staff member.
    seen = (await api.data(SEEN, {"id": filed["id"]}, token=member))["node"]
    assert seen["assignee"] == {"firstName": "Оксана", "user": None}

    reassigned = await api.data(
        ops["ReassignRequest"], {"requestId": filed["id"], "operatorId": petro_id}, token=admin
    )
    assert reassigned["assignRequest"]["assignee"]["user"]["email"] == "petro@example.com"
    released = await api.data(ops["ReleaseRequest"], {"requestId": filed["id"]}, token=admin)
    assert released["assignRequest"]["assignee"] is None
    await api.data(ops["TakeRequest"], {"requestId": filed["id"], "me": oksana_id}, token=oksana)
    mine = await api.data(ops["ReleaseRequest"], {"requestId": filed["id"]}, token=oksana)
    assert mine["assignRequest"]["assignee"] is None

    # Every assignment is audited, as a staff action about the member's request.
    audited = [(e.actor_role, e.before, e.after) for e in await assignments()]
    oksana_raw = relay.GlobalID.from_id(oksana_id).node_id
    petro_raw = relay.GlobalID.from_id(petro_id).node_id
    assert audited == [
        ("operator", {"assignee": None}, {"assignee": oksana_raw}),
        ("admin", {"assignee": oksana_raw}, {"assignee": petro_raw}),
        ("admin", {"assignee": petro_raw}, {"assignee": None}),
        ("operator", {"assignee": None}, {"assignee": oksana_raw}),
        ("operator", {"assignee": oksana_raw}, {"assignee": None}),
    ]
    # The history shows statuses only; the assignments are events, not steps.
    assert [c.status.value for c in (await stored(filed["id"])).status_changes()] == ["submitted"]


async def test_two_operators_taking_one_request_at_once_one_wins(api: Api, mailbox: Mailbox):
    member = await customer(api, mailbox)
    filed = await callback(api, member)
    first, first_id = await staff(api, "oksana@example.com", "operator", "Оксана")
    second, second_id = await staff(api, "petro@example.com", "operator", "Петро")

    answers = await asyncio.gather(
        assign(api, first, filed["id"], first_id), assign(api, second, filed["id"], second_id)
    )

    results = [answer["data"]["assignRequest"] for answer in answers]
    assert sorted(result["__typename"] for result in results) == ["AssignmentConflict", "Request"]
    (winner,) = [r for r in results if r["__typename"] == "Request"]
    (loser,) = [r for r in results if r["__typename"] == "AssignmentConflict"]
    assert loser["code"] == "ASSIGNMENT_CONFLICT"
    assert loser["message"] == translate("error.assignment_conflict", Locale.UK)
    email = winner["assignee"]["user"]["email"]
    winner_id = first_id if email == "oksana@example.com" else second_id
    request = await stored(filed["id"])
    assert str(request.assignee_id) == relay.GlobalID.from_id(winner_id).node_id
    assert len(await assignments()) == 1


async def test_the_queue_filters_by_who_handles_the_requests(api: Api, mailbox: Mailbox):
    member = await customer(api, mailbox)
    mine, other, nobodys = [await callback(api, member) for _ in range(3)]
    oksana, oksana_id = await staff(api, "oksana@example.com", "operator", "Оксана")
    petro, petro_id = await staff(api, "petro@example.com", "operator", "Петро")
    await assign(api, oksana, mine["id"], oksana_id)
    await assign(api, petro, other["id"], petro_id)

    async def numbers(filter: dict[str, Any]) -> set[str]:
        page = (await api.data(QUEUE_IDS, {"filter": filter}, token=oksana))["requestQueue"]
        return {edge["node"]["number"] for edge in page["edges"]}

    assert await numbers({"assignedToMe": True}) == {mine["number"]}
    assert await numbers({"unassigned": True}) == {nobodys["number"]}
    assert await numbers({"assigneeId": petro_id}) == {other["number"]}
    assert await numbers({"assignedToMe": False}) == {r["number"] for r in (mine, other, nobodys)}
    # All given conditions apply: two different assignees match nothing.
    assert await numbers({"assignedToMe": True, "unassigned": True}) == set()
    assert await numbers({"assigneeId": "not an id"}) == set()


async def test_subscribers_see_an_assignment_as_a_change(api: Api, mailbox: Mailbox, server: str):
    member = await customer(api, mailbox)
    filed = await callback(api, member)
    oksana, oksana_id = await staff(api, "oksana@example.com", "operator", "Оксана")
    async with (
        subscribed(server, member, LIVE_ASSIGNEE, {"id": filed["id"]}) as members,
        subscribed(server, oksana, QUEUE_LIVE_ASSIGNEE) as queue,
    ):
        await assign(api, oksana, filed["id"], oksana_id)
        for_member = (await next_message(members))["payload"]["data"]["requestUpdated"]
        for_staff = (await next_message(queue))["payload"]["data"]["requestQueueUpdated"]
    assert for_member == {
        "assigneeChanged": True,
        "previousStatus": "SUBMITTED",
        "request": {"status": "SUBMITTED", "assignee": {"firstName": "Оксана", "user": None}},
    }
    assert for_staff == {
        "assigneeChanged": True,
        "request": {
            "number": filed["number"],
            "assignee": {"firstName": "Оксана", "user": {"email": "oksana@example.com"}},
        },
    }
    # Released since: a replay tells each change with the request as it stood then.
    await assign(api, oksana, filed["id"], None)
    since = {"id": filed["id"], "since": filed["createdAt"]}
    async with subscribed(server, member, REPLAY_ASSIGNEE, since) as replay:
        replayed = [(await next_message(replay))["payload"]["data"] for _ in range(2)]
    assert [r["requestUpdated"]["request"]["assignee"] for r in replayed] == [
        {"firstName": "Оксана"},
        None,
    ]


async def test_bad_assignments_are_refused_in_the_callers_language_and_change_nothing(
    api: Api, mailbox: Mailbox
):
    member = await customer(api, mailbox)
    filed = await callback(api, member)
    oksana, oksana_id = await staff(api, "oksana@example.com", "operator", "Оксана")
    petro, petro_id = await staff(api, "petro@example.com", "operator", "Петро")
    await assign(api, oksana, filed["id"], oksana_id)
    before = (await stored(filed["id"])).model_dump()
    audited = len(await assignments())
    member_user = await UserDocument.find_one({"email": "olena@example.com"})
    assert member_user is not None
    member_id = relay.to_base64("User", str(member_user.id))

    attempts = [
        # assigning to someone who is not staff (an administrator may assign to staff only)
        (oksana, "oksana@example.com", member_id, "INVALID_INPUT", "field.assignee_not_staff"),
        # an operator releasing a request someone else handles
        (petro, "petro@example.com", None, "ASSIGNMENT_NOT_ALLOWED", "error.release_only_yours"),
        # an operator giving a request to someone else
        (
            petro,
            "petro@example.com",
            oksana_id,
            "ASSIGNMENT_NOT_ALLOWED",
            "error.assign_only_yourself",
        ),
        # an operator taking a request someone else handles
        (petro, "petro@example.com", petro_id, "ASSIGNMENT_CONFLICT", "error.assignment_conflict"),
    ]
    for token, email, operator_id, code, key in attempts:
        for locale in (Locale.UK, Locale.EN):
            await speaking(email, locale)
            body = await assign(api, token, filed["id"], operator_id)
            result = body["data"]["assignRequest"]
            assert result["code"] == code
            messages = [f["message"] for f in result.get("fields", [])] or [result["message"]]
            assert messages == [translate(key, locale)]

    # A member is not staff: the field refuses them before anything runs.
    for locale in (Locale.UK, Locale.EN):
        await speaking("olena@example.com", locale)
        body = await assign(api, member, filed["id"], None)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert error["message"] == translate("auth.forbidden", locale)

    assert (await stored(filed["id"])).model_dump() == before
    assert len(await assignments()) == audited


async def test_the_update_itself_refuses_a_request_read_before_someone_took_it(
    api: Api, mailbox: Mailbox
):
    """The race decided by the write, not by the check before it: an operator who read the
    request unassigned writes nothing once another has taken it."""
    member = await customer(api, mailbox)
    filed = await callback(api, member)
    oksana, oksana_id = await staff(api, "oksana@example.com", "operator", "Оксана")
    await staff(api, "petro@example.com", "operator", "Петро")
    petro = await UserDocument.find_one({"email": "petro@example.com"})
    assert petro is not None
    read_before = await stored(filed["id"])
    await assign(api, oksana, filed["id"], oksana_id)

    assert await lifecycle._try_assign(read_before, petro, petro.id) is None

    after = await stored(filed["id"])
    assert str(after.assignee_id) == relay.GlobalID.from_id(oksana_id).node_id
    assert after.version == read_before.version + 1
