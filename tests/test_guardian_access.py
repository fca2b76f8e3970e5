"""Guardian access ends at 18 (issue 17 item 6): a child's card linked through a parent's
phone leaves the parent's cabinet on the child's 18th birthday, told a month before, unless
the registry says otherwise."""

from datetime import date, timedelta

import pytest

from kabinet.cli import cli_caller
from kabinet.clock import clock, now
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import (
    OutboxMessageDocument,
    PolicyDocument,
    Relationship,
    RequestDocument,
    UserDocument,
)
from kabinet.documents.policy import GUARDIAN_AGE_YEARS, shift_months
from kabinet.i18n import Locale, translate
from kabinet.resolvers.guardians import announce_endings, fill_missing_guardian_fields
from kabinet.resolvers.policy_import import import_rows
from kabinet.services import Services
from tests.accounts import signed_up
from tests.operations import MY_REQUESTS, SELECT_POLICY
from tests.policies import PHONE, card, confirmed_phone
from tests.requests_support import callback
from tests.support import Api, Mailbox, SmsGateway, body_of, eventually

EMAIL = "olena@example.com"
CARDS = """
query {
  me {
    policies { id number relationship guardianAccessEnds }
    activePolicy { number }
    policyLookup { status }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { ... on Policy { number } } }"


def born_18_years_before(birthday: date) -> date:
    return shift_months(birthday, -12 * GUARDIAN_AGE_YEARS)


def tomorrow() -> date:
    return now().date() + timedelta(days=1)


@pytest.fixture
async def parent(api: Api, mailbox: Mailbox) -> str:
    """A signed-in account whose confirmed phone is PHONE."""
    token = await signed_up(api, mailbox, EMAIL)
    await confirmed_phone(EMAIL)
    return token


async def cards(api: Api, token: str) -> dict:
    return (await api.data(CARDS, token=token))["me"]


async def node(api: Api, token: str, card_id: str) -> dict | None:
    return (await api.data(NODE, {"id": card_id}, token=token))["node"]


async def test_a_childs_card_is_shown_until_the_day_before_the_18th_birthday(api: Api, parent: str):
    await card(
        "UA-2",
        PHONE,
        relationship=Relationship.CHILD,
        name="Коваленко Марко",
        birth_date=born_18_years_before(tomorrow()),
    )
    before = await cards(api, parent)
    (shown,) = before["policies"]
    filed = await callback(api, parent)

    assert shown["number"] == "UA-2"
    assert shown["guardianAccessEnds"] == tomorrow().isoformat()
    assert before["activePolicy"] == {"number": "UA-2"}
    assert (await node(api, parent, shown["id"])) == {"number": "UA-2"}
    assert filed["__typename"] == "Request"
    assert filed["policy"] == {"number": "UA-2"}

    clock.advance(timedelta(days=1))  # the 18th birthday
    after = await cards(api, parent)
    refused = await callback(api, parent)
    selected = await api.data(SELECT_POLICY, {"input": {"policyId": shown["id"]}}, token=parent)
    listed = (await api.data(MY_REQUESTS, token=parent))["me"]["requests"]

    assert after == {
        "policies": [],
        "activePolicy": None,
        "policyLookup": {"status": "NO_CARD_FOUND"},
    }
    assert await node(api, parent, shown["id"]) is None
    assert refused["code"] == "NO_ACTIVE_POLICY"
    assert selected["selectPolicy"]["code"] == "NOT_FOUND"
    # The request filed before stays the parent's; the card it names is the child's now.
    assert [edge["node"]["number"] for edge in listed["edges"]] == [filed["number"]]
    assert listed["edges"][0]["node"]["policy"] is None
    assert (await UserDocument.find_one({"email": EMAIL})).active_policy_id is None
    assert await RequestDocument.find({}).count() == 1


async def test_the_active_card_moves_to_the_own_card_and_self_and_spouse_cards_stay(
    api: Api, parent: str
):
    """Only CHILD cards end: an own or a spouse's card with the same birth date stays, and the
    grown child's card stops being the active one."""
    birth = born_18_years_before(tomorrow())
    for number, relationship in (
        ("UA-1", Relationship.SELF),
        ("UA-2", Relationship.CHILD),
        ("UA-3", Relationship.SPOUSE),
    ):
        await card(number, PHONE, relationship=relationship, birth_date=birth)
    child_id = next(
        p["id"] for p in (await cards(api, parent))["policies"] if p["number"] == "UA-2"
    )
    chosen = await api.data(SELECT_POLICY, {"input": {"policyId": child_id}}, token=parent)
    assert chosen["selectPolicy"]["activePolicy"] == {"number": "UA-2"}

    clock.advance(timedelta(days=1))
    after = await cards(api, parent)

    assert [(p["number"], p["guardianAccessEnds"]) for p in after["policies"]] == [
        ("UA-1", None),
        ("UA-3", None),
    ]
    assert after["activePolicy"] == {"number": "UA-1"}


async def test_a_childs_card_without_a_birth_date_stays_shown(api: Api, parent: str):
    await card("UA-2", PHONE, relationship=Relationship.CHILD, birth_date=None)
    clock.advance(timedelta(days=20))  # within the session's life
    (shown,) = (await cards(api, parent))["policies"]
    assert (shown["number"], shown["guardianAccessEnds"]) == ("UA-2", None)


def child_row(**columns: object) -> dict[str, object]:
    today = now().date()
    return {
        "number": "UA-2",
        "insurer": "Демо",
        "program": "Дитячий",
        "status": "active",
        "valid_from": (today - timedelta(days=30)).isoformat(),
        "valid_to": (today + timedelta(days=700)).isoformat(),
        "insured_full_name": "Коваленко Марко",
        "insured_birth_date": born_18_years_before(tomorrow()).isoformat(),
        "phones": PHONE,
        "relationship": "child",
        **columns,
    }


async def test_the_registry_extends_or_ends_guardian_access(api: Api, parent: str):
    extended_to = now().date() + timedelta(days=20)
    report = await import_rows(
        caller=cli_caller(),
        rows=[
            child_row(guardian_access_until=extended_to.isoformat()),
            child_row(number="UA-3", insured_birth_date="2020-05-01", guardian_access_until=""),
            # Ended by the registry before the birthday: yesterday was its last day.
            child_row(
                number="UA-4",
                insured_birth_date="2020-05-01",
                guardian_access_until=(now().date() - timedelta(days=1)).isoformat(),
            ),
        ],
    )
    assert (report.created, report.rejected) == (3, [])

    clock.advance(timedelta(days=1))  # UA-2's child is 18 today
    shown = {p["number"]: p["guardianAccessEnds"] for p in (await cards(api, parent))["policies"]}
    assert shown == {
        "UA-2": (extended_to + timedelta(days=1)).isoformat(),
        "UA-3": "2038-05-01",
    }

    clock.advance(timedelta(days=19))  # UA-2's last day by the registry
    assert [p["number"] for p in (await cards(api, parent))["policies"]] == ["UA-2", "UA-3"]
    clock.advance(timedelta(days=1))
    assert [p["number"] for p in (await cards(api, parent))["policies"]] == ["UA-3"]


@pytest.mark.usefixtures("database")
async def test_a_bad_guardian_access_date_is_refused_and_writes_nothing():
    report = await import_rows(
        caller=cli_caller(),
        rows=[
            child_row(guardian_access_until="31.02.2030"),
            child_row(number="UA-3", relationship="self", guardian_access_until="2030-01-01"),
        ],
    )

    assert report.created == 0
    assert [(p.field, p.code.name) for p in report.rejected] == [
        ("rows[1].guardian_access_until", "DATE_INVALID"),
        ("rows[2].guardian_access_until", "GUARDIAN_ACCESS_NOT_CHILD"),
    ]
    assert translate(report.rejected[1].code.value, Locale.UK).startswith("Доступ опікуна")
    assert await PolicyDocument.find({}).count() == 0


async def test_the_notice_is_sent_once_a_month_before_in_the_accounts_language(
    api: Api, mailbox: Mailbox, sms_gateway: SmsGateway, settings: Settings, database: Database
):
    await signed_up(api, mailbox, EMAIL)
    await confirmed_phone(EMAIL)
    await signed_up(api, mailbox, "andrii@example.com")
    await confirmed_phone("andrii@example.com", "+380501112233")
    await UserDocument.find_one({"email": "andrii@example.com"}).update(
        {"$set": {"locale": "en", "notifications.email": ["COMPLETED"]}}
    )
    birthday = now().date() + timedelta(days=40)
    await card(
        "UA-2",
        PHONE,
        "+380501112233",
        relationship=Relationship.CHILD,
        name="Коваленко Марко",
        birth_date=born_18_years_before(birthday),
    )
    services = Services.of(settings, database)

    assert await announce_endings(services) == 0  # 40 days before: not yet
    clock.advance(timedelta(days=40) - (birthday - shift_months(birthday, -1)))
    assert await announce_endings(services) == 1
    # A second round, another process, or the registry's row written again: nothing new.
    assert await announce_endings(services) == 0
    assert await announce_endings(Services.of(settings, database)) == 0
    await import_rows(
        caller=cli_caller(),
        rows=[
            child_row(
                insured_birth_date=born_18_years_before(birthday).isoformat(),
                phones=[PHONE, "+380501112233"],
            )
        ],
    )
    assert await announce_endings(services) == 0

    messages = await OutboxMessageDocument.find({"dedupe_key": {"$regex": "^guardian:"}}).to_list()
    sent = {(m.channel.value, m.recipient) for m in messages}
    assert len(messages) == len(sent)
    assert sent == {("sms", PHONE), ("sms", "+380501112233"), ("email", "andrii@example.com")}
    # What was delivered (the outbox clears a message's content once it has gone).
    sms_ids = {str(m.id) for m in messages if m.channel.value == "sms"}

    async def delivered_sms() -> dict[str, str] | None:
        texts = {sms["to"]: sms["text"] for sms in sms_gateway.messages if sms["id"] in sms_ids}
        return texts if len(texts) == len(sms_ids) else None

    texts = await eventually(delivered_sms)
    assert texts[PHONE] == translate(
        "sms.guardian_access_ends", Locale.UK, number="UA-2", ends=birthday
    )
    assert texts["+380501112233"] == translate(
        "sms.guardian_access_ends", Locale.EN, number="UA-2", ends=birthday
    )
    email = await mailbox.wait_for("andrii@example.com", "Card UA-2")
    assert "Коваленко Марко" in body_of(email)


async def test_a_card_stored_before_gets_its_end_at_start(api: Api, parent: str):
    stored = await card(
        "UA-2",
        PHONE,
        relationship=Relationship.CHILD,
        birth_date=born_18_years_before(now().date()),
    )
    # As a card stored before guardian access ended at 18 is.
    await PolicyDocument.get_pymongo_collection().update_one(
        {"_id": stored.id},
        {"$unset": {"guardian_access_ends": "", "guardian_notice_at": ""}},
    )
    assert len((await cards(api, parent))["policies"]) == 1

    assert await fill_missing_guardian_fields() == 1
    assert await fill_missing_guardian_fields() == 0
    assert (await cards(api, parent))["policies"] == []
