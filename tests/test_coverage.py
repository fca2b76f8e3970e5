"""Programmes, usage and coverage checks (issue 17 items 1-3): imported with the registry,
used by the decisions on a card's requests in the same update, checked before filing."""

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from strawberry import relay

from kabinet.auth.passwords import PasswordHashing
from kabinet.cli import cli_caller
from kabinet.clock import clock, now
from kabinet.db import Database
from kabinet.documents import (
    InsuredPerson,
    PolicyDocument,
    PolicyStatus,
    ProgrammeDocument,
    RequestDocument,
)
from kabinet.resolvers.coverage import card_programme, programmes_named
from kabinet.resolvers.demo import DEMO_PASSWORD, seed_demo
from kabinet.resolvers.policy_import import import_rows
from tests.accounts import login
from tests.operations import COVERAGE_CHECK, CREATE_REQUEST_COVERAGE, IMPORT_POLICIES, MY_COVERAGE
from tests.policies import PHONE, card, staff_token
from tests.requests_support import change_status, create, customer, multipart, window
from tests.subscriptions import next_message, subscribed
from tests.support import Api, CommandLog, Mailbox
from tests.test_api_guide import operations as guide
from tests.test_cli import run_cli
from tests.test_outcomes import (
    APPOINTMENT,
    decide,
    decision,
    document_of,
    in_two_days,
    pay,
    reimbursement,
    start,
)
from tests.test_policy_import import where

INSURER = "Демо Страхування"
PROGRAM = "Оптимальний"


def benefit(kind: str, **terms: Any) -> dict[str, Any]:
    return {"kind": kind, **terms}


def programme(*versions: dict[str, Any], program: str = PROGRAM) -> dict[str, Any]:
    return {"insurer": INSURER, "program": program, "versions": list(versions)}


def version(effective_from: date, *benefits: dict[str, Any]) -> dict[str, Any]:
    return {"effective_from": effective_from.isoformat(), "benefits": list(benefits)}


def a_year_ago() -> date:
    return now().date() - timedelta(days=365)


STANDARD = (
    benefit("outpatient_visits", limit_count=2, notes="Терапевт"),
    benefit("reimbursement", limit_amount="2000.00", copayment_percent=10),
    benefit("hospital", limit_amount="100000", waiting_days=35),
    benefit("lab_tests", limit_count=0),
)


async def define(*programmes: dict[str, Any]) -> None:
    report = await import_rows(caller=cli_caller(), rows=[], programmes=list(programmes))
    assert report.rejected == []


async def import_file(api: Api, admin: str, content: dict[str, Any], locale: str = "uk") -> Any:
    answer = await multipart(
        api,
        admin,
        IMPORT_POLICIES,
        {"file": None},
        {"variables.file": ("registry.json", json.dumps(content).encode())},
    )
    return answer.json()["data"]["importPolicies"]


async def coverage_of(api: Api, token: str) -> dict[str, dict[str, Any]]:
    (policy,) = (await api.data(MY_COVERAGE, token=token))["me"]["policies"]
    return {entry["kind"]: entry for entry in policy["coverage"]}


async def card_id(number: str = "UA-1") -> str:
    policy = await PolicyDocument.find_one({"number": number})
    assert policy is not None
    return relay.to_base64("Policy", str(policy.id))


async def check(api: Api, token: str, kind: str, amount: str | None = None, **more: Any) -> Any:
    variables = {"policyId": more.get("policy_id") or await card_id(), "kind": kind}
    answer = await api.data(COVERAGE_CHECK, {**variables, "amount": amount}, token=token)
    return answer["coverageCheck"]


# ---- item 1: programmes in the registry import


async def test_programmes_are_imported_and_a_version_applies_from_its_date(api: Api, member: str):
    admin = await staff_token(api, "admin@example.com", "admin")
    soon = now().date() + timedelta(days=10)
    content = {
        "programmes": [
            programme(
                version(soon, benefit("outpatient_visits", limit_count=8)),
                version(
                    a_year_ago(), benefit("outpatient_visits", limit_count=5, notes="Терапевт")
                ),
            )
        ]
    }

    report = await import_file(api, admin, content)
    again = await import_file(api, admin, content)

    assert report == {
        "__typename": "ImportReport",
        "created": 0,
        "updated": 0,
        "rejected": [],
        "programmesCreated": 1,
        "programmesUpdated": 0,
    }
    assert (again["programmesCreated"], again["programmesUpdated"]) == (0, 1)
    visits = (await coverage_of(api, member))["OUTPATIENT_VISITS"]
    assert visits["limit"] == {"amount": None, "count": 5}
    assert visits["notes"] == "Терапевт"
    clock.advance(timedelta(days=10))  # the second version is in force from that day
    assert (await coverage_of(api, member))["OUTPATIENT_VISITS"]["limit"]["count"] == 8


async def test_bad_programmes_are_reported_with_codes_and_not_written(api: Api, member: str):
    admin = await staff_token(api, "admin@example.com", "admin")
    start_day = a_year_ago()
    content = {
        "programmes": [
            programme(version(start_day, benefit("outpatient_visits", limit_count=-1))),
            programme(version(start_day, benefit("massage", limit_count=3)), program="B"),
            programme(
                version(start_day, benefit("dental", copayment_percent=101)),
                version(start_day, benefit("dental", limit_amount="-5.00")),
                program="C",
            ),
            programme(version(start_day, benefit("emergency"), benefit("emergency")), program="D"),
            programme(version(start_day, benefit("emergency", waiting_days=-3)), program="E"),
            programme(version(start_day, benefit("emergency")), program="Good"),
        ]
    }

    report = await import_file(api, admin, content)

    assert {(p["field"], p["code"]) for p in report["rejected"]} == {
        ("programmes[1].versions[1].benefits[1].limit_count", "LIMIT_INVALID"),
        ("programmes[2].versions[1].benefits[1].kind", "CHOICE_INVALID"),
        ("programmes[3].versions[1].benefits[1].copayment_percent", "COPAYMENT_INVALID"),
        ("programmes[3].versions[2].benefits[1].limit_amount", "LIMIT_INVALID"),
        ("programmes[3].versions[2].effective_from", "VERSIONS_OVERLAP"),
        ("programmes[4].versions[1].benefits[2].kind", "BENEFIT_DUPLICATE"),
        ("programmes[5].versions[1].benefits[1].waiting_days", "WAITING_DAYS_INVALID"),
    }
    messages = {p["code"]: p["message"] for p in report["rejected"]}
    assert messages["COPAYMENT_INVALID"] == "Співоплата: ціле число відсотків від 0 до 100."
    assert report["programmesCreated"] == 1
    assert [p.program for p in await ProgrammeDocument.find_all().to_list()] == ["Good"]
    assert await coverage_of(api, member) == {}  # Оптимальний was refused: nothing written


async def test_the_cli_imports_cards_and_programmes_from_one_file(
    database: Database, tmp_path: Path
):
    registry = tmp_path / "registry.json"
    content = {
        "policies": [],
        "programmes": [
            programme(version(a_year_ago(), benefit("emergency"))),
            programme(version(a_year_ago(), benefit("emergency", limit_amount="-1")), program="B"),
        ],
    }
    registry.write_text(json.dumps(content), encoding="utf-8")

    code, output = await run_cli("import-policies", str(registry), **where(database))

    assert code == 1, output  # a programme was rejected
    assert "programmes created 1, updated 0" in output
    assert "programmes[2].versions[1].benefits[1].limit_amount" in output
    assert [p.program for p in await ProgrammeDocument.find_all().to_list()] == [PROGRAM]


# ---- item 2: usage and what remains


async def test_decisions_use_the_limits_and_a_smaller_payout_gives_the_rest_back(
    api: Api, member: str, operator: str
):
    await define(programme(version(a_year_ago(), *STANDARD)))
    request_id, documents = await reimbursement(api, member, operator)
    before = (await coverage_of(api, member))["REIMBURSEMENT"]

    await decide(api, operator, request_id, "APPROVED", decision(documents))  # 800.00
    approved = (await coverage_of(api, member))["REIMBURSEMENT"]
    paid_on = now().date().isoformat()
    await pay(
        api, operator, request_id, status="PAID", amount="500", paidOn=paid_on, reference="P1"
    )
    paid = (await coverage_of(api, member))["REIMBURSEMENT"]

    assert before["used"] == {"amount": "0.00", "count": 0}
    assert before["remaining"] == {"amount": "2000.00", "count": None}
    assert approved["used"]["amount"] == "800.00"
    assert approved["remaining"]["amount"] == "1200.00"
    assert paid["used"]["amount"] == "500.00"  # paid less than approved: the rest is back
    assert paid["remaining"]["amount"] == "1500.00"
    usage = (await document_of(request_id)).usage
    assert usage is not None
    assert (usage.kopecks, usage.on) == (50000, now().date() - timedelta(days=1))


async def test_a_completed_appointment_uses_a_visit_in_the_same_update(
    api: Api, member: str, operator: str
):
    await define(programme(version(a_year_ago(), *STANDARD)))
    filed = await create(
        api, member, {"doctorAppointment": {"specialty": "Терапевт", "preferredTimes": [window()]}}
    )
    await start(api, operator, filed["id"])
    at = in_two_days()
    scheduled = await change_status(
        api,
        operator,
        filed["id"],
        "SCHEDULED",
        scheduledAt=at,
        outcome={"appointment": APPOINTMENT},
    )
    assert scheduled["status"] == "SCHEDULED"
    assert (await document_of(filed["id"])).usage is None  # arranged, not yet used

    await change_status(api, operator, filed["id"], "COMPLETED")
    completed = await document_of(filed["id"])

    assert completed.usage is not None
    assert (completed.usage.benefit, completed.usage.count) == ("outpatient_visits", 1)
    assert completed.usage.on == date.fromisoformat(at[:10])
    visits = (await coverage_of(api, member))["OUTPATIENT_VISITS"]
    assert visits["used"] == {"amount": "0.00", "count": 1}
    assert visits["remaining"] == {"amount": None, "count": 1}


async def test_usage_counts_in_its_period_only(api: Api, mailbox: Mailbox, operator: str):
    """A two-year card: the policy year restarts on its anniversary, the calendar year on
    1 January."""
    today = now().date()
    await PolicyDocument(
        number="UA-1",
        insurer=INSURER,
        program=PROGRAM,
        status=PolicyStatus.ACTIVE,
        valid_from=today - timedelta(days=360),
        valid_to=today + timedelta(days=700),
        insured_person=InsuredPerson(full_name="Коваленко Олена"),
        phones=[PHONE],
    ).insert()
    member = await customer(api, mailbox)
    yearly = benefit("reimbursement", limit_amount="2000.00")
    await define(
        programme(version(a_year_ago(), yearly, benefit("dental", period="calendar_year")))
    )
    request_id, documents = await reimbursement(api, member, operator)
    await decide(api, operator, request_id, "APPROVED", decision(documents))
    first = (await coverage_of(api, member))["REIMBURSEMENT"]

    clock.advance(timedelta(days=6))  # the card's second year
    second = await coverage_of(api, member)

    anniversary = today + timedelta(days=5)
    assert first["used"]["amount"] == "800.00"
    assert first["periodStart"] == (today - timedelta(days=360)).isoformat()
    assert first["periodEnd"] == (anniversary - timedelta(days=1)).isoformat()
    assert second["REIMBURSEMENT"]["used"]["amount"] == "0.00"
    assert second["REIMBURSEMENT"]["periodStart"] == anniversary.isoformat()
    later = now().date()
    assert second["DENTAL"]["periodStart"] == date(later.year, 1, 1).isoformat()
    assert second["DENTAL"]["periodEnd"] == date(later.year, 12, 31).isoformat()


async def test_a_members_subscription_sees_the_usage_a_decision_causes(
    api: Api, member: str, operator: str, server: str
):
    await define(programme(version(a_year_ago(), *STANDARD)))
    request_id, documents = await reimbursement(api, member, operator)
    watched = {"id": request_id}

    async with subscribed(server, member, COVERAGE_UPDATED, watched) as ws:
        await decide(api, operator, request_id, "APPROVED", decision(documents))
        event = (await next_message(ws))["payload"]["data"]["requestUpdated"]

    assert event["request"]["status"] == "APPROVED"
    coverage = {entry["kind"]: entry for entry in event["request"]["policy"]["coverage"]}
    assert coverage["REIMBURSEMENT"]["used"]["amount"] == "800.00"


COVERAGE_UPDATED = """subscription($id: ID) {
  requestUpdated(requestId: $id) {
    request { status policy { coverage { kind used { amount count } } } }
  }
}"""


async def test_coverage_of_many_cards_costs_the_same_queries_as_of_one(
    api: Api, mailbox: Mailbox, command_log: CommandLog
):
    member = await customer(api, mailbox)
    await define(programme(version(a_year_ago(), *STANDARD)))

    async def commands() -> list[tuple[str, object]]:
        begin = len(command_log.commands)
        await api.data(MY_COVERAGE.replace("policies {", "policies { number"), token=member)
        return [c for c in command_log.during_request(begin) if c[1] in ("requests", "programmes")]

    one = await commands()
    for n in range(2, 7):
        await card(f"UA-{n}", PHONE)
    six = await commands()

    assert len(six) == len(one) == 2


# ---- item 3: coverageCheck, and createRequest's answer


async def test_coverage_check_answers_each_case(api: Api, member: str, operator: str):
    await define(programme(version(a_year_ago(), *STANDARD)))
    other = await card("UA-7", PHONE)
    other.program = "Невідомий"
    await other.save()
    ended = await card("UA-8", PHONE)

    covered = await check(api, member, "OUTPATIENT_VISITS")
    partly = await check(api, member, "REIMBURSEMENT", "3000")
    waiting = await check(api, member, "HOSPITAL", "100.00")
    missing = await check(api, member, "dental")
    used_up = await check(api, member, "LAB_TESTS")
    undefined = await check(api, member, "EMERGENCY", policy_id=await card_id("UA-7"))

    assert covered["verdict"] == "COVERED"
    assert covered["message"] == "Програма покриває це повністю."
    assert covered["benefit"]["remaining"]["count"] == 2
    assert covered["remainingAfter"] == {"amount": None, "count": 1}
    assert partly["verdict"] == "PARTLY"
    # 2000.00 left of the limit, 10 % co-payment: 1800.00 paid, 1200.00 the member's.
    assert (partly["coveredAmount"], partly["memberShare"]) == ("1800.00", "1200.00")
    assert partly["remainingAfter"]["amount"] == "200.00"
    assert (waiting["verdict"], waiting["reason"]) == ("NOT_COVERED", "WAITING_PERIOD")
    waiting_ends = now().date() + timedelta(days=5)
    assert waiting["benefit"]["waitingPeriodEnds"] == waiting_ends.isoformat()
    assert missing["reason"] == "NOT_IN_PROGRAMME"
    assert used_up["reason"] == "LIMIT_USED_UP"
    assert undefined["reason"] == "NO_PROGRAMME_DEFINED"
    clock.advance(timedelta(days=5))  # the waiting period is over
    assert (await check(api, member, "HOSPITAL", "100.00"))["verdict"] == "COVERED"
    ended.valid_to = now().date() - timedelta(days=1)
    await ended.save()
    ended_check = await check(api, member, "OUTPATIENT_VISITS", policy_id=await card_id("UA-8"))
    assert ended_check["reason"] == "CARD_NOT_VALID"


async def test_coverage_check_refuses_bad_input_and_cards_of_others(
    api: Api, mailbox: Mailbox, member: str
):
    stranger = await customer(api, mailbox, "stranger@example.com", "+380501112233")

    others = await check(api, stranger, "OUTPATIENT_VISITS")
    unknown = await check(api, member, "MASSAGE")
    negative = await check(api, member, "REIMBURSEMENT", "-10")
    not_an_id = await check(api, member, "REIMBURSEMENT", policy_id="nonsense")

    assert others["__typename"] == "NotFound"
    assert not_an_id["__typename"] == "NotFound"
    assert unknown["__typename"] == "InputError"
    assert unknown["fields"][0]["field"] == "kind"
    assert unknown["fields"][0]["code"] == "CHOICE_INVALID"
    assert "OUTPATIENT_VISITS" in unknown["fields"][0]["message"]
    assert negative["fields"] == [
        {
            "field": "amount",
            "code": "AMOUNT_INVALID",
            "message": "Сума: число більше нуля, не більше двох знаків після коми, напр. 1250.50.",
        }
    ]


async def test_create_request_answers_with_the_check_of_its_card_and_kind(api: Api, member: str):
    await define(programme(version(a_year_ago(), *STANDARD)))
    appointment = {"doctorAppointment": {"specialty": "Терапевт", "preferredTimes": [window()]}}
    lab_tests = {"labTests": {"tests": ["Загальний аналіз крові"], "preferredTimes": [window()]}}

    filed = await api.data(CREATE_REQUEST_COVERAGE, {"input": appointment}, token=member)
    tests = await api.data(CREATE_REQUEST_COVERAGE, {"input": lab_tests}, token=member)
    called = await api.data(
        CREATE_REQUEST_COVERAGE, {"input": {"callback": {"topic": "Поліс"}}}, token=member
    )

    answer = filed["createRequest"]["coverageCheck"]
    assert (answer["verdict"], answer["kind"]) == ("COVERED", "OUTPATIENT_VISITS")
    assert answer["benefit"]["remaining"]["count"] == 2
    refused = tests["createRequest"]["coverageCheck"]
    assert (refused["verdict"], refused["reason"]) == ("NOT_COVERED", "LIMIT_USED_UP")
    assert called["createRequest"]["coverageCheck"] is None
    stored = await RequestDocument.find_all().to_list()
    assert all(request.usage is None for request in stored)  # filing uses nothing


async def test_the_api_guides_coverage_documents_work(api: Api, member: str):
    await define(programme(version(a_year_ago(), *STANDARD)))
    documents = guide()

    cards = (await api.data(documents["CardCoverage"], token=member))["me"]["policies"]
    variables = {"policyId": cards[0]["id"], "kind": "REIMBURSEMENT", "amount": "3000.00"}
    answer = await api.data(documents["CheckCoverage"], variables, token=member)

    assert {entry["kind"] for entry in cards[0]["coverage"]} == {
        "OUTPATIENT_VISITS",
        "REIMBURSEMENT",
        "HOSPITAL",
        "LAB_TESTS",
    }
    assert answer["coverageCheck"]["verdict"] == "PARTLY"
    assert answer["coverageCheck"]["memberShare"] == "1200.00"


@pytest.mark.usefixtures("database")
async def test_the_demo_defines_the_programme_of_every_demo_card(api: Api):
    async with PasswordHashing(threads=1) as passwords:
        await seed_demo(caller=cli_caller(), passwords=passwords)
    token = (await login(api, "demo@example.com", DEMO_PASSWORD))["token"]

    cards = await PolicyDocument.find_all().to_list()
    defined = await programmes_named([card_programme(policy) for policy in cards])
    demo_cards = (await api.data(MY_COVERAGE, token=token))["me"]["policies"]

    assert all(p is not None and p.version_on(now().date()) for p in defined)
    assert demo_cards
    assert all(policy["coverage"] for policy in demo_cards)
