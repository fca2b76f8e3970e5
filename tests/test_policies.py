"""Insurance cards (guide section 3): linking by phone, switching, operators' fixes."""

import pytest

from kabinet.documents import AuditEventDocument, PolicyDocument, PolicyStatus, Relationship
from kabinet.i18n import Locale, translate
from tests.accounts import signed_up
from tests.operations import (
    ADD_CONTACT,
    FIND_POLICIES,
    MY_POLICIES,
    REMOVE_CONTACT,
    SELECT_POLICY,
    UPDATE_POLICY_PHONES,
    VERIFY_CONTACT_WITH_POLICIES,
)
from tests.policies import PHONE, card, confirmed_phone, staff_token
from tests.support import Api, CommandLog, Mailbox, SmsGateway, sms_code

EMAIL = "olena@example.com"


@pytest.fixture
async def token(api: Api, mailbox: Mailbox) -> str:
    return await signed_up(api, mailbox, EMAIL)


async def my_cards(api: Api, token: str) -> dict:
    return (await api.data(MY_POLICIES, token=token))["me"]


async def test_confirming_the_phone_links_own_and_childs_cards(
    api: Api, token: str, sms_gateway: SmsGateway
):
    await card("UA-2", PHONE, relationship=Relationship.CHILD, name="Коваленко Марко")
    await card("UA-1", PHONE)
    await card("UA-9", "+380501112233")
    added = (await api.data(ADD_CONTACT, {"input": {"value": PHONE}}, token=token))["addContact"]
    code = sms_code((await sms_gateway.wait_for(PHONE))[0])

    verified = await api.data(
        VERIFY_CONTACT_WITH_POLICIES,
        {"input": {"contactId": added["id"], "code": code}},
        token=token,
    )

    assert verified["verifyContact"]["linkedPolicies"] == [
        {"number": "UA-1", "relationship": "SELF", "active": True},
        {"number": "UA-2", "relationship": "CHILD", "active": False},
    ]
    me = await my_cards(api, token)
    assert [p["number"] for p in me["policies"]] == ["UA-1", "UA-2"]
    assert me["activePolicy"]["number"] == "UA-1"
    assert me["policyLookup"] == {"status": "FOUND", "hint": None}
    assert me["policies"][1]["insuredPerson"]["fullName"] == "Коваленко Марко"
    assert all(p["phones"] is None for p in me["policies"])  # other people's phones stay private


async def test_switching_the_active_card(api: Api, token: str):
    await card("UA-1", PHONE)
    child = await card("UA-2", PHONE, relationship=Relationship.CHILD)
    await confirmed_phone(EMAIL)
    me = await my_cards(api, token)
    child_id = next(p["id"] for p in me["policies"] if p["number"] == child.number)

    switched = await api.data(SELECT_POLICY, {"input": {"policyId": child_id}}, token=token)

    assert switched["selectPolicy"]["activePolicy"] == {"number": "UA-2"}
    me = await my_cards(api, token)
    assert me["activePolicy"]["number"] == "UA-2"
    assert [p["active"] for p in me["policies"]] == [False, True]


async def test_a_card_that_is_not_linked_cannot_be_selected(api: Api, mailbox: Mailbox, token: str):
    await card("UA-1", PHONE)
    await card("UA-5", "+380501112233")
    other = await signed_up(api, mailbox, "other@example.com")
    await confirmed_phone("other@example.com", "+380501112233")
    theirs = (await my_cards(api, other))["policies"][0]["id"]
    await confirmed_phone(EMAIL)

    result = await api.data(SELECT_POLICY, {"input": {"policyId": theirs}}, token=token)
    node = await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": theirs}, token=token)

    assert result["selectPolicy"] == {"__typename": "NotFound", "code": "NOT_FOUND"}
    assert node["node"] is None
    assert (await my_cards(api, token))["activePolicy"]["number"] == "UA-1"


async def test_the_active_card_is_one_in_force_whenever_there_is_one(api: Api, token: str):
    # The registry still says "active" on the own card, but its last day has passed.
    lapsed = await card("UA-1", PHONE)
    await lapsed.set({"valid_to": lapsed.valid_from})
    await card("UA-2", PHONE, relationship=Relationship.CHILD)
    await confirmed_phone(EMAIL)

    me = await my_cards(api, token)

    assert me["activePolicy"]["number"] == "UA-2"
    assert [(p["number"], p["status"], p["active"]) for p in me["policies"]] == [
        ("UA-1", "ACTIVE", False),
        ("UA-2", "ACTIVE", True),
    ]
    assert me["policyLookup"] == {"status": "FOUND", "hint": None}
    refused = await api.data(
        SELECT_POLICY, {"input": {"policyId": me["policies"][0]["id"]}}, token=token
    )
    assert refused["selectPolicy"]["__typename"] == "NotAllowed"
    assert refused["selectPolicy"]["code"] == "POLICY_NOT_ACTIVE"
    assert (await my_cards(api, token))["activePolicy"]["number"] == "UA-2"


async def test_cards_none_of_which_is_in_force_are_said_plainly(api: Api, token: str):
    await card("UA-1", PHONE, status=PolicyStatus.EXPIRED)
    await card("UA-2", PHONE, relationship=Relationship.CHILD, status=PolicyStatus.SUSPENDED)
    await confirmed_phone(EMAIL)

    me = await my_cards(api, token)

    assert [(p["number"], p["active"]) for p in me["policies"]] == [
        ("UA-1", False),
        ("UA-2", False),
    ]
    assert me["activePolicy"] is None
    assert me["policyLookup"]["status"] == "NO_CARD_IN_FORCE"
    assert me["policyLookup"]["hint"] == translate("policy.lookup.no_card_in_force", Locale.UK)


async def test_lookup_tells_what_to_do_when_no_card_is_shown(api: Api, token: str):
    before = (await my_cards(api, token))["policyLookup"]
    assert before["status"] == "NO_VERIFIED_PHONE"
    assert "підтвердьте номер" in before["hint"]

    await confirmed_phone(EMAIL)
    after = await my_cards(api, token)

    assert after["policies"] == []
    assert after["activePolicy"] is None
    assert after["policyLookup"]["status"] == "NO_CARD_FOUND"
    assert "+38 044 364 85 10" in after["policyLookup"]["hint"]


async def test_operator_adds_the_phone_and_the_card_appears_without_user_action(
    api: Api, token: str
):
    policy = await card("UA-7", "+380501112233")
    await confirmed_phone(EMAIL)
    assert (await my_cards(api, token))["policies"] == []
    operator = await staff_token(api, "operator@example.com", "operator")
    found = await api.data(FIND_POLICIES, {"search": "UA-7"}, token=operator)
    policy_id = found["findPolicies"]["edges"][0]["node"]["id"]

    updated = await api.data(
        UPDATE_POLICY_PHONES,
        {"input": {"policyId": policy_id, "phones": ["+380501112233", "067 123 45 67"]}},
        token=operator,
    )

    assert updated["updatePolicyPhones"] == {
        "__typename": "Policy",
        "number": "UA-7",
        "phones": ["+380501112233", PHONE],
    }
    me = await my_cards(api, token)
    assert [p["number"] for p in me["policies"]] == ["UA-7"]
    assert me["activePolicy"]["number"] == "UA-7"
    event = await AuditEventDocument.find_one({"action": "policy.phones_updated"})
    assert event.target_id == str(policy.id)
    assert event.before == {"phones": ["+380501112233"]}
    assert event.after == {"phones": ["+380501112233", PHONE]}
    assert event.actor_role == "operator"


async def test_removing_the_phone_from_the_policy_unlinks_it(api: Api, token: str):
    own = await card("UA-1", PHONE)
    await card("UA-2", PHONE, relationship=Relationship.CHILD)
    await confirmed_phone(EMAIL)
    assert (await my_cards(api, token))["activePolicy"]["number"] == "UA-1"
    operator = await staff_token(api, "operator@example.com", "operator")
    own_id = (await my_cards(api, token))["policies"][0]["id"]

    await api.data(
        UPDATE_POLICY_PHONES, {"input": {"policyId": own_id, "phones": []}}, token=operator
    )

    me = await my_cards(api, token)
    assert [p["number"] for p in me["policies"]] == ["UA-2"]
    assert me["activePolicy"]["number"] == "UA-2"  # another card becomes active
    assert (await PolicyDocument.get(own.id)).phones == []


async def test_update_policy_phones_rejects_bad_phones_and_unknown_policies(api: Api, token: str):
    await card("UA-1", PHONE)
    operator = await staff_token(api, "operator@example.com", "operator")
    policy_id = (await api.data(FIND_POLICIES, {"search": "UA-1"}, token=operator))["findPolicies"][
        "edges"
    ][0]["node"]["id"]

    bad = await api.data(
        UPDATE_POLICY_PHONES,
        {"input": {"policyId": policy_id, "phones": [PHONE, "12345"]}},
        token=operator,
    )
    unknown = await api.data(
        UPDATE_POLICY_PHONES, {"input": {"policyId": "bm9wZQ==", "phones": []}}, token=operator
    )

    assert bad["updatePolicyPhones"]["fields"] == [
        {"field": "phones[1]", "code": "CONTACT_INVALID"}
    ]
    assert unknown["updatePolicyPhones"]["__typename"] == "NotFound"
    assert (await PolicyDocument.find_one({"number": "UA-1"})).phones == [PHONE]


async def test_find_policies_by_number_phone_or_name_with_pages(api: Api):
    for n in range(5):
        await card(f"UA-10{n}", f"+38050111220{n}", name=f"Шевчук Андрій {n}")
    await card("XY-1", PHONE, name="Бондар Ірина")
    operator = await staff_token(api, "operator@example.com", "operator")

    async def numbers(search: str, **page: object) -> tuple[list[str], dict, int]:
        found = (await api.data(FIND_POLICIES, {"search": search, **page}, token=operator))[
            "findPolicies"
        ]
        return [e["node"]["number"] for e in found["edges"]], found["pageInfo"], found["totalCount"]

    assert (await numbers("ua-10"))[0] == ["UA-100", "UA-101", "UA-102", "UA-103", "UA-104"]
    assert (await numbers("067 123 45 67"))[0] == ["XY-1"]
    assert (await numbers("ірина"))[0] == ["XY-1"]
    first, info, total = await numbers("Шевчук", first=2)
    assert (first, info["hasNextPage"], total) == (["UA-100", "UA-101"], True, 5)
    rest, info, _ = await numbers("Шевчук", first=10, after=info["endCursor"])
    assert (rest, info["hasNextPage"]) == (["UA-102", "UA-103", "UA-104"], False)
    assert (await numbers("(.*)"))[0] == []


@pytest.mark.parametrize("role", [None, "customer"])
async def test_staff_fields_are_forbidden_to_others(api: Api, mailbox: Mailbox, role: str | None):
    policy = await card("UA-1", PHONE)
    token = await staff_token(api, "someone@example.com", role) if role else None
    search = await api.post(FIND_POLICIES, {"search": "UA"}, token=token)
    update = await api.post(
        UPDATE_POLICY_PHONES, {"input": {"policyId": "x", "phones": []}}, token=token
    )

    expected = "FORBIDDEN" if role else "UNAUTHENTICATED"
    assert search["errors"][0]["extensions"]["code"] == expected
    assert update["errors"][0]["extensions"]["code"] == expected
    assert (await PolicyDocument.get(policy.id)).phones == [PHONE]


async def test_last_verified_phone_stays_while_cards_are_linked_through_it(api: Api, token: str):
    await card("UA-1", PHONE)
    await confirmed_phone(EMAIL)
    me = (await api.data("{ me { contacts { id } } }", token=token))["me"]

    refused = await api.data(
        REMOVE_CONTACT, {"input": {"contactId": me["contacts"][0]["id"]}}, token=token
    )

    assert refused["removeContact"]["__typename"] == "NotAllowed"
    assert refused["removeContact"]["code"] == "LAST_PHONE_HAS_POLICIES"
    assert len((await my_cards(api, token))["policies"]) == 1


async def test_refresh_policies(api: Api, token: str):
    await confirmed_phone(EMAIL)
    await card("UA-1", PHONE)
    refreshed = await api.data(
        "mutation { refreshPolicies { ... on User { "
        "policies { number } activePolicy { number } } } }",
        token=token,
    )
    assert refreshed["refreshPolicies"] == {
        "policies": [{"number": "UA-1"}],
        "activePolicy": {"number": "UA-1"},
    }


@pytest.mark.parametrize("cards", [2, 6])
async def test_reading_cards_costs_the_same_number_of_commands_for_any_count(
    api: Api, token: str, command_log: CommandLog, cards: int
):
    for n in range(cards):
        await card(f"UA-{n}", PHONE)
    await confirmed_phone(EMAIL)
    await my_cards(api, token)  # settles the active card once

    start = len(command_log.commands)
    me = await my_cards(api, token)
    commands = command_log.during_request(start)

    assert len(me["policies"]) == cards
    # session + user, the verified phones, the cards: the same for 2 cards and for 6
    assert [name for name, _ in commands] == ["find", "find", "find", "find"], commands
