"""Loading the insurers' registry: CLI and the importPolicies upload, CSV and JSON."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

from kabinet.auth.passwords import PasswordHashing
from kabinet.cli import cli_caller
from kabinet.clock import clock
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import (
    AuditEventDocument,
    OutboxMessageDocument,
    PolicyDocument,
    PolicyStatus,
    Relationship,
)
from kabinet.resolvers.demo import DEMO_PHONE, DEMO_PHONES, seed_demo
from kabinet.resolvers.guardians import announce_endings
from kabinet.resolvers.policy_import import import_rows
from kabinet.services import Services
from tests.accounts import login, signed_up
from tests.operations import IMPORT_POLICIES, MY_POLICIES
from tests.policies import confirmed_phone, staff_token
from tests.requests_support import callback
from tests.support import Api, CommandLog, Mailbox
from tests.test_cli import run_cli

HEADER = (
    "number;insurer;program;status;valid_from;valid_to;insured_full_name;insured_birth_date;"
    "phones;relationship;coverage_notes\n"
)
GOOD_CSV = HEADER + (
    "UA-1;Демо;Оптимальний;active;2026-01-01;31.12.2026;Коваленко Олена;12.04.1988;"
    "067 123 45 67;self;Амбулаторно\n"
    "UA-2;Демо;Дитячий;ACTIVE;2026-01-01;2026-12-31;Коваленко Марко;;"
    "+380671234567, 0501112233;child;\n"
)
BAD_CSV = HEADER + (
    ";Демо;Оптимальний;active;2026-01-01;2026-12-31;Без Номера;;;self;\n"
    "UA-3;Демо;Оптимальний;active;2026-12-31;2026-01-01;Дати Навпаки;;;self;\n"
    "UA-4;Демо;Оптимальний;active;2026-01-01;2026-12-31;Поганий Телефон;;12345;self;\n"
    "UA-5;Демо;Оптимальний;frozen;2026-01-01;2026-12-31;Дивний Статус;;;self;\n"
    "UA-1;Демо;Оптимальний;suspended;2026-01-01;2026-12-31;Коваленко Олена;;0671234567;self;\n"
)


def where(database: Database) -> dict[str, str]:
    return {"mongodb_uri": database.uri or "", "database": database.db.name}


async def test_cli_imports_csv_and_updates_by_number(database: Database, tmp_path: Path):
    registry = tmp_path / "registry.csv"
    registry.write_text(GOOD_CSV, encoding="utf-8")

    code, output = await run_cli("import-policies", str(registry), **where(database))

    assert code == 0, output
    assert "created 2, updated 0" in output
    child = await PolicyDocument.find_one({"number": "UA-2"})
    assert child.relationship is Relationship.CHILD
    assert child.phones == ["+380671234567", "+380501112233"]
    own = await PolicyDocument.find_one({"number": "UA-1"})
    assert own.insured_person.birth_date.isoformat() == "1988-04-12"
    assert own.valid_to.isoformat() == "2026-12-31"

    registry.write_text(BAD_CSV, encoding="utf-8")
    code, output = await run_cli("import-policies", str(registry), **where(database))

    assert code == 1
    assert "created 0, updated 1" in output
    assert "rows[1].number: This field is required." in output
    assert "rows[2].valid_to: The end date is before the start date." in output
    assert "rows[3].phones:" in output
    assert "rows[4].status: Unknown value. Allowed: ACTIVE, SUSPENDED, EXPIRED." in output
    assert await PolicyDocument.count() == 2  # no bad row was written, not even in part
    assert (await PolicyDocument.find_one({"number": "UA-1"})).status is PolicyStatus.SUSPENDED


async def upload(api: Api, token: str | None, name: str, content: bytes, **headers: str) -> dict:
    response = await api.http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": IMPORT_POLICIES, "variables": {"file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (name, content, "application/octet-stream")},
        headers={**headers, **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    return {"status": response.status_code, "body": response.text}


ROWS = [
    {
        "number": "UA-10",
        "insurer": "Демо",
        "program": "Оптимальний",
        "status": "active",
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
        "insured_full_name": "Шевчук Андрій",
        "phones": ["+380501112233"],
    },
    {"number": "UA-11", "insurer": "Демо"},
]


async def test_admin_uploads_a_json_registry(api: Api):
    admin = await staff_token(api, "admin@example.com", "admin")

    answer = await upload(
        api, admin, "registry.json", json.dumps(ROWS).encode(), **{"GraphQL-Require-Preflight": "1"}
    )

    report = json.loads(answer["body"])["data"]["importPolicies"]
    assert (report["created"], report["updated"]) == (1, 0)
    assert {problem["field"] for problem in report["rejected"]} == {
        "rows[2].program",
        "rows[2].status",
        "rows[2].valid_from",
        "rows[2].valid_to",
        "rows[2].insured_full_name",
    }
    audit = await AuditEventDocument.find_one({"action": "policies.imported"})
    assert audit.after == {"created": 1, "updated": 0, "rejected_rows": 1}
    assert audit.actor_role == "admin"


async def test_upload_without_the_preflight_header_is_refused_as_csrf(api: Api):
    admin = await staff_token(api, "admin@example.com", "admin")

    answer = await upload(api, admin, "registry.json", json.dumps(ROWS).encode())

    assert answer["status"] == 400
    assert "GraphQL-Require-Preflight" in answer["body"]
    assert await PolicyDocument.count() == 0


@pytest.mark.parametrize("role", ["operator", "customer"])
async def test_only_admins_import(api: Api, role: str):
    token = await staff_token(api, f"{role}@example.com", role)

    answer = await upload(
        api,
        token,
        "registry.json",
        json.dumps(ROWS).encode(),
        **{"X-Apollo-Operation-Name": "Import"},
    )

    assert json.loads(answer["body"])["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await PolicyDocument.count() == 0


async def test_unreadable_file_is_an_input_error(api: Api):
    admin = await staff_token(api, "admin@example.com", "admin")
    answer = await upload(
        api, admin, "registry.json", b"\xff\xfe not json", **{"GraphQL-Require-Preflight": "1"}
    )
    result = json.loads(answer["body"])["data"]["importPolicies"]
    assert result == {
        "__typename": "InputError",
        "fields": [{"field": "file", "code": "FILE_UNREADABLE"}],
    }


async def test_csv_without_separators_is_unreadable(api: Api):
    admin = await staff_token(api, "admin@example.com", "admin")
    answer = await upload(
        api,
        admin,
        "registry.csv",
        b"number\tinsurer\nUA-1\tX\n",
        **{"GraphQL-Require-Preflight": "1"},
    )
    result = json.loads(answer["body"])["data"]["importPolicies"]
    assert result["fields"] == [{"field": "file", "code": "FILE_UNREADABLE"}]


async def test_seed_demo_lets_a_person_try_the_cards(
    api: Api, settings: Settings, database: Database
):
    code, output = await run_cli("seed-demo", **where(database))
    assert code == 0, output
    again, _ = await run_cli("seed-demo", **where(database))
    assert again == 0

    token = (await login(api, "demo@example.com", "Demo-pass-1"))["token"]
    me = (await api.data(MY_POLICIES, token=token))["me"]

    assert [(p["number"], p["relationship"]) for p in me["policies"]] == [
        ("UA-2026-000101", "SELF"),
        ("UA-2026-000102", "CHILD"),
        ("UA-2026-000103", "CHILD"),
    ]
    # A child turning 18 in two weeks: the guardian-access notice is due already.
    coming_of_age = await PolicyDocument.find_one({"number": "UA-2026-000103"})
    assert coming_of_age.guardian_access_end() == clock.now().date() + timedelta(days=14)
    assert await announce_endings(Services.of(settings, database)) == 1
    assert await OutboxMessageDocument.find({"recipient": DEMO_PHONE}).count() == 1
    operator = await login(api, "operator@example.com", "Demo-pass-1")
    assert operator["user"]["role"] == "OPERATOR"


@pytest.mark.parametrize(
    ("phone", "lookup", "filing"),
    [
        ("+380661234501", "FOUND", "Request"),
        ("+380661234503", "FOUND", "Request"),
        ("+380501112233", "NO_CARD_IN_FORCE", "POLICY_NOT_ACTIVE"),
        ("+380931234567", "NO_CARD_FOUND", "NO_ACTIVE_POLICY"),
    ],
)
async def test_the_demo_has_a_phone_for_each_case_a_new_account_can_try(
    api: Api, mailbox: Mailbox, database: Database, phone: str, lookup: str, filing: str
):
    code, output = await run_cli("seed-demo", **where(database))
    assert code == 0, output
    assert all(demo_phone.phone in output for demo_phone in DEMO_PHONES)
    token = await signed_up(api, mailbox, "newcomer@example.com")
    await confirmed_phone("newcomer@example.com", phone)

    me = (await api.data(MY_POLICIES, token=token))["me"]
    filed = await callback(api, token)

    assert me["policyLookup"]["status"] == lookup
    assert (me["activePolicy"] is not None) == (lookup == "FOUND")
    assert (filed["__typename"] if filed["__typename"] == "Request" else filed["code"]) == filing


@pytest.mark.usefixtures("database")
async def test_the_demo_cards_are_valid_whenever_the_demo_is_loaded():
    clock.advance(timedelta(days=400))  # the template's active cards end in its year
    async with PasswordHashing(threads=1) as passwords:
        await seed_demo(caller=cli_caller(), passwords=passwords)
    today = clock.now().date()
    by_number = {policy.number: policy async for policy in PolicyDocument.find_all()}
    for number in ("UA-2026-000101", "UA-2026-000102"):
        active = by_number[number]
        assert active.status is PolicyStatus.ACTIVE
        assert active.valid_from <= today <= active.valid_to
    assert by_number["UA-2025-000077"].valid_to < today


def registry_rows(count: int) -> list[dict[str, object]]:
    return [
        {
            "number": f"UA-{n:05d}",
            "insurer": "Демо",
            "program": "Оптимальний",
            "status": "active",
            "valid_from": "2026-01-01",
            "valid_to": "2026-12-31",
            "insured_full_name": f"Шевчук Андрій {n}",
            "phones": [f"+38050{n:07d}"],
        }
        for n in range(1, count + 1)
    ]


async def test_a_large_import_is_written_in_batches_with_the_same_report(
    database: Database, command_log: CommandLog
):
    rows = registry_rows(2500)
    rows[6]["number"] = ""  # row 7
    rows[1233]["phones"] = ["12345"]  # row 1234
    rows[2499]["status"] = "frozen"  # row 2500
    rows[9]["number"] = rows[8]["number"]  # row 10 overwrites row 9
    await PolicyDocument.get_pymongo_collection().insert_one(
        {"number": "UA-00100", "insurer": "Старий", "phones": []}
    )
    done: list[tuple[int, int]] = []

    start = len(command_log.commands)
    report = await import_rows(
        caller=cli_caller(), rows=rows, progress=lambda *seen: done.append(seen)
    )
    commands = [name for name, _ in command_log.during_request(start)]

    assert (report.created, report.updated) == (2500 - 3 - 1 - 1, 2)
    assert [(p.field, p.key) for p in report.rejected] == [
        ("rows[7].number", "field.required"),
        ("rows[1234].phones", "field.contact_invalid"),
        ("rows[2500].status", "field.choice_invalid"),
    ]
    # one bulk write per 500 rows and the audit event, whatever the number of rows
    assert commands == ["update"] * 5 + ["insert"], commands
    assert done == [(500, 2500), (1000, 2500), (1500, 2500), (2000, 2500), (2500, 2500)]
    assert await PolicyDocument.count() == 2500 - 3 - 1
    overwritten = await PolicyDocument.find_one({"number": "UA-00100"})
    assert overwritten.insurer == "Демо"
    assert overwritten.search_keys == overwritten.search_fields()["search_keys"]
    assert (await PolicyDocument.find_one({"number": "UA-00009"})).insured_person.full_name == (
        "Шевчук Андрій 10"
    )
    audit = await AuditEventDocument.find_one({"action": "policies.imported"})
    assert audit.after == {"created": 2495, "updated": 2, "rejected_rows": 3}


async def test_the_cli_prints_its_progress(database: Database, tmp_path: Path):
    registry = tmp_path / "registry.json"
    registry.write_text(json.dumps(registry_rows(1200)), encoding="utf-8")

    code, output = await run_cli("import-policies", str(registry), **where(database))

    assert code == 0, output
    progress = [line for line in output.splitlines() if " rows, " in line]
    assert [line.split(" rows, ")[0] for line in progress] == ["500/1200", "1000/1200", "1200/1200"]
    assert all(line.endswith(" s left") and " rows/s, about " in line for line in progress)
    assert "created 1200, updated 0" in output
