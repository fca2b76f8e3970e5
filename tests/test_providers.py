"""The provider directory (issue 17 item 4): its import (CLI and importProviders), the
`providers` list by name and by distance, and the providers requests and outcomes name."""

import json
from pathlib import Path
from typing import Any

import pytest
from strawberry import relay

from kabinet.auth.passwords import PasswordHashing
from kabinet.cli import cli_caller
from kabinet.db import Database
from kabinet.documents import (
    AuditEventDocument,
    PolicyDocument,
    ProviderDocument,
    RequestDocument,
)
from kabinet.documents.provider import GeoPoint, Weekday
from kabinet.resolvers import providers
from kabinet.resolvers.demo import seed_demo
from kabinet.resolvers.providers import parse_opening_hours
from tests.operations import IMPORT_PROVIDERS, PROVIDERS
from tests.policies import staff_token
from tests.requests_support import change_status, create, window
from tests.support import Api, CommandLog
from tests.test_api_guide import example
from tests.test_api_guide import operations as guide
from tests.test_cli import run_cli
from tests.test_outcomes import in_two_days, start
from tests.test_policy_import import where

HEADER = "code;kind;name;city;address;phones;specialties;opening_hours;programmes;lat;lon\n"
GOOD_CSV = HEADER + (
    "KY-1;clinic;Клініка «Оберіг»;Київ;вул. Зоологічна, 3;044 521 17 77, 0 800 30 20 20;"
    "Терапія, Педіатрія;mon-fri 08:00-20:00, sat 09:00-15:00;Оптимальний, Дитячий;"
    "50.4555;30.4620\n"
    "LV-1;PHARMACY;Аптека «Знахар»;Львів;вул. Дорошенка, 29;+380322612200;;24/7;Базовий;;\n"
)
BAD_CSV = HEADER + (
    "KY-2;clinic;Без міста;;вул. Хрещатик, 1;;;;;;\n"
    "KY-3;;Без типу;Київ;вул. Хрещатик, 2;;;;;;\n"
    "KY-4;hospital;Дивний тип;Київ;вул. Хрещатик, 3;;;;;;\n"
    "KY-5;clinic;Далеко;Київ;вул. Хрещатик, 4;;;;;91;30.5\n"
    "KY-6;clinic;Пів точки;Київ;вул. Хрещатик, 5;;;;;50.45;\n"
    "KY-7;clinic;Поганий телефон;Київ;вул. Хрещатик, 6;12345;;;;;\n"
    "KY-8;clinic;Погані години;Київ;вул. Хрещатик, 7;;;fri-mon 08:00-20:00;;;\n"
    "KY-1;clinic;Клініка «Оберіг» (нова назва);Київ;вул. Зоологічна, 3;;;;;;\n"
)


async def test_cli_imports_the_directory_and_updates_by_code(database: Database, tmp_path: Path):
    directory = tmp_path / "providers.csv"
    directory.write_text(GOOD_CSV, encoding="utf-8")

    code, output = await run_cli("import-providers", str(directory), **where(database))

    assert code == 0, output
    assert "created 2, updated 0" in output
    clinic = await ProviderDocument.find_one({"code": "KY-1"})
    assert clinic.phones == ["+380445211777", "+380800302020"]
    assert clinic.specialties == ["Терапія", "Педіатрія"]
    assert clinic.programmes == ["Оптимальний", "Дитячий"]
    assert [(h.day, h.opens, h.closes) for h in clinic.opening_hours] == [
        *((day, "08:00", "20:00") for day in list(Weekday)[:5]),
        (Weekday.SATURDAY, "09:00", "15:00"),
    ]
    assert clinic.location == GeoPoint(lat=50.4555, lon=30.462)
    pharmacy = await ProviderDocument.find_one({"code": "LV-1"})
    assert pharmacy.location is None
    assert len(pharmacy.opening_hours) == 7

    directory.write_text(BAD_CSV, encoding="utf-8")
    code, output = await run_cli("import-providers", str(directory), **where(database))

    assert code == 1
    assert "created 0, updated 1" in output
    assert "rows[1].city: This field is required." in output
    assert "rows[2].kind: Unknown value. Allowed: CLINIC, LABORATORY, PHARMACY." in output
    assert "rows[3].kind: Unknown value. Allowed: CLINIC, LABORATORY, PHARMACY." in output
    assert "rows[4].lat: Latitude is from -90 to 90" in output
    assert "rows[5].lon: Give both latitude and longitude, or neither." in output
    assert "rows[6].phones: Enter a Ukrainian phone number" in output
    assert "rows[7].opening_hours: Write opening hours as" in output
    assert await ProviderDocument.count() == 2  # no bad row was written, not even in part
    renamed = await ProviderDocument.find_one({"code": "KY-1"})
    assert renamed.name == "Клініка «Оберіг» (нова назва)"
    assert renamed.location is None  # the registry's row replaces the provider whole


async def upload(api: Api, token: str, name: str, content: bytes) -> dict[str, Any]:
    response = await api.http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": IMPORT_PROVIDERS, "variables": {"file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (name, content, "application/octet-stream")},
        headers={"Authorization": f"Bearer {token}", "GraphQL-Require-Preflight": "1"},
    )
    return response.json()["data"]["importProviders"]


async def test_an_admin_uploads_a_json_directory_and_bad_rows_are_localised(api: Api):
    admin = await staff_token(api, "admin@example.com", "admin")
    rows = [
        {"code": "KY-LB-1", "kind": "laboratory", "name": "Лабораторія «Синево»",
         "city": "Київ", "address": "вул. Хрещатик, 27", "phones": ["0 800 500 700"],
         "opening_hours": ["mon-fri 07:30-19:00"], "lat": 50.447, "lon": 30.5226},
        {"code": "KY-LB-2", "kind": "laboratory", "name": "Без координат",
         "city": "Київ", "address": "вул. Хрещатик, 28", "lat": "north", "lon": 200},
    ]  # fmt: skip

    report = await upload(api, admin, "providers.json", json.dumps(rows).encode())

    assert (report["created"], report["updated"]) == (1, 0)
    assert [(p["field"], p["code"]) for p in report["rejected"]] == [
        ("rows[2].lat", "COORDINATES_INVALID"),
        ("rows[2].lon", "COORDINATES_INVALID"),
    ]
    assert report["rejected"][0]["message"].startswith("Широта")  # Ukrainian by default
    audit = await AuditEventDocument.find_one({"action": "providers.imported"})
    assert audit.after == {"created": 1, "updated": 0, "rejected_rows": 1}
    assert audit.actor_role == "admin"


@pytest.mark.parametrize(
    ("typed", "days"),
    [
        (["24/7"], [(day, "00:00", "24:00") for day in Weekday]),
        (["daily 08:00-22:00"], [(day, "08:00", "22:00") for day in Weekday]),
        (["Sat-Sun 10:00 - 14:00"], [(Weekday.SATURDAY, "10:00", "14:00"), (Weekday.SUNDAY, "10:00", "14:00")]),
        ([], []),
        (["fri-mon 08:00-20:00"], None),  # backwards
        (["mon 20:00-08:00"], None),  # closes before it opens
        (["mon"], None),
        (["monday 08:00-20:00"], None),
        (["24/7 08:00-20:00"], None),
        (["mon 08:00-25:00"], None),
    ],
)  # fmt: skip
def test_opening_hours_are_parsed_into_days(typed: list[str], days: list | None):
    hours = parse_opening_hours(typed)
    assert (None if hours is None else [(h.day, h.opens, h.closes) for h in hours]) == days


# ---- the list

KYIV = [
    # code, kind, name, specialties, programmes, (lat, lon)
    ("K1", "clinic", "Клініка «Добробут»", ["Терапія", "Кардіологія"], ["Оптимальний"], (50.4367, 30.5410)),
    ("K2", "clinic", "Медичний центр «Оберіг»", ["Терапія"], ["Преміум"], (50.4555, 30.4620)),
    ("K3", "clinic", "Добрий лікар", ["Педіатрія"], ["Дитячий", "Оптимальний"], (50.5065, 30.4989)),
    ("K4", "laboratory", "Лабораторія «Синево»", ["Біохімія"], ["Оптимальний"], (50.4470, 30.5226)),
    ("K5", "pharmacy", "Аптека «Доброго дня»", [], ["Оптимальний"], None),
    ("L1", "clinic", "Клініка «Медіком»", ["Терапія"], ["Оптимальний"], (49.8345, 23.9890)),
]  # fmt: skip


async def directory(rows: list[tuple] = KYIV) -> dict[str, str]:
    """The providers of ``rows`` (the L* ones in Львів), imported; their ids by code."""
    report = await providers.import_rows(
        caller=cli_caller(),
        rows=[
            {
                "code": code,
                "kind": kind,
                "name": name,
                "city": "Львів" if code.startswith("L") else "Київ",
                "address": f"вул. Тестова, {n}",
                "specialties": specialties,
                "programmes": programmes,
                "opening_hours": "mon-fri 08:00-20:00; sat 10:00-14:00",
                **({"lat": point[0], "lon": point[1]} if point else {}),
            }
            for n, (code, kind, name, specialties, programmes, point) in enumerate(rows, 1)
        ],
    )
    assert report.rejected == []
    imported = ProviderDocument.find({"code": {"$in": [row[0] for row in rows]}})
    return {p.code: relay.to_base64("Provider", str(p.id)) async for p in imported}


async def listed(api: Api, token: str, **variables: Any) -> dict[str, Any]:
    return (await api.data(PROVIDERS, variables, token=token))["providers"]


async def codes(api: Api, token: str, **filter_: Any) -> list[str]:
    page = await listed(api, token, filter=filter_)
    return [edge["node"]["code"] for edge in page["edges"]]


async def test_every_filter_narrows_the_list_ordered_by_name(api: Api, member: str):
    await directory()

    assert await codes(api, member) == ["K5", "K3", "K1", "L1", "K4", "K2"]
    assert await codes(api, member, city="київ") == ["K5", "K3", "K1", "K4", "K2"]
    assert await codes(api, member, city="Lviv") == ["L1"]
    assert await codes(api, member, kind="CLINIC", city="Київ") == ["K3", "K1", "K2"]
    assert await codes(api, member, specialty="терапія") == ["K1", "L1", "K2"]
    assert await codes(api, member, programme="Дитячий") == ["K3"]
    assert await codes(api, member, programme="Оптимальний", kind="LABORATORY") == ["K4"]
    # Name words by prefix, in either script and any case.
    assert await codes(api, member, text="добр") == ["K5", "K3", "K1"]
    assert await codes(api, member, text="DOBR") == ["K5", "K3", "K1"]
    assert await codes(api, member, text="dobryi lik") == ["K3"]
    assert await codes(api, member, text="Оберіг", city="Kyiv") == ["K2"]
    assert await codes(api, member, text="кардіо") == []  # a specialty, not a name
    page = await listed(api, member, filter={"city": "Київ"})
    assert page["totalCount"] == 5
    assert page["edges"][0]["distanceKm"] is None
    hours = page["edges"][0]["node"]["openingHours"]
    assert (hours[0], hours[-1]) == (
        {"day": "MONDAY", "opens": "08:00", "closes": "20:00"},
        {"day": "SATURDAY", "opens": "10:00", "closes": "14:00"},
    )


async def test_pages_by_name_continue_after_the_cursor(api: Api, operator: str):
    await directory()
    seen: list[str] = []
    after = None
    while True:
        page = await listed(api, operator, first=2, after=after)
        seen += [edge["node"]["code"] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == ["K5", "K3", "K1", "L1", "K4", "K2"]


async def test_near_a_point_the_list_is_ordered_by_distance_and_pages(api: Api, member: str):
    await directory()
    maidan = {"lat": 50.4501, "lon": 30.5234}

    page = await listed(api, member, filter={"near": maidan})
    ranked = [(edge["node"]["code"], edge["distanceKm"]) for edge in page["edges"]]

    # Within 25 km of the Maidan, nearest first; K5 has no location, L1 is in Lviv.
    assert [code for code, _ in ranked] == ["K4", "K1", "K2", "K3"]
    distances = [distance for _, distance in ranked]
    assert distances == sorted(distances)
    assert 0.2 < distances[0] < 0.5
    assert page["totalCount"] == 4
    near_clinics = {"near": {**maidan, "radiusKm": 5}, "kind": "CLINIC"}
    assert await codes(api, member, **near_clinics) == ["K1", "K2"]
    lviv = {"near": {"lat": 49.8419, "lon": 24.0316, "radiusKm": 100}}
    assert await codes(api, member, **lviv) == ["L1"]

    first = await listed(api, member, filter={"near": maidan}, first=3)
    rest = await listed(
        api, member, filter={"near": maidan}, first=3, after=first["pageInfo"]["endCursor"]
    )
    assert [e["node"]["code"] for e in first["edges"] + rest["edges"]] == ["K4", "K1", "K2", "K3"]
    assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)


async def errors_of(api: Api, token: str, **variables: Any) -> list[dict[str, Any]]:
    body = await api.post(PROVIDERS, variables, token=token)
    assert body.get("data") is None
    return body["errors"]


@pytest.mark.parametrize(
    ("filter_", "fields"),
    [
        ({"near": {"lat": 91, "lon": 30}}, [("filter.near", "COORDINATES_INVALID")]),
        ({"near": {"lat": 50, "lon": -181}}, [("filter.near", "COORDINATES_INVALID")]),
        ({"near": {"lat": 50, "lon": 30, "radiusKm": 0}}, [("filter.near.radiusKm", "RADIUS_INVALID")]),
        ({"near": {"lat": 50, "lon": 30, "radiusKm": 500}}, [("filter.near.radiusKm", "RADIUS_INVALID")]),
        ({"text": "добро\u202e"}, [("filter.text", "CONTROL_CHARACTERS")]),
        ({"city": "К" * 101}, [("filter.city", "TOO_LONG")]),
    ],
)  # fmt: skip
async def test_a_bad_filter_is_an_invalid_argument_error(
    api: Api, member: str, filter_: dict[str, Any], fields: list[tuple[str, str]]
):
    (error,) = await errors_of(api, member, filter=filter_)

    assert error["extensions"]["code"] == "INVALID_ARGUMENT"
    assert [(f["field"], f["code"]) for f in error["extensions"]["fields"]] == fields
    assert all(f["message"] for f in error["extensions"]["fields"])


async def test_a_cursor_of_the_other_order_is_refused(api: Api, member: str):
    await directory()
    by_name = (await listed(api, member, first=1))["pageInfo"]["endCursor"]
    near = {"near": {"lat": 50.45, "lon": 30.52}}
    by_distance = (await listed(api, member, filter=near, first=1))["pageInfo"]["endCursor"]

    for variables in (
        {"filter": near, "after": by_name},
        {"after": by_distance},
        {"after": "bm90IGEgY3Vyc29y"},
    ):
        (error,) = await errors_of(api, member, **variables)
        assert error["extensions"]["code"] == "INVALID_CURSOR"


async def test_anonymous_callers_are_refused_and_providers_are_nodes(api: Api, member: str):
    ids = await directory()

    (error,) = await errors_of(api, "")
    found = await api.data(
        "query($id: ID!) { node(id: $id) { ... on Provider { code kind } } }",
        {"id": ids["K4"]},
        token=member,
    )

    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert found["node"] == {"code": "K4", "kind": "LABORATORY"}


def spread(count: int) -> list[tuple]:
    """``count`` clinics around Kyiv's centre, a few hundred metres apart."""
    return [
        (f"K{n:03}", "clinic", f"Клініка {n:03}", ["Терапія"], ["Оптимальний"],
         (50.40 + n * 0.002, 30.50 + (n % 7) * 0.003))
        for n in range(count)
    ]  # fmt: skip


@pytest.mark.parametrize("size", [5, 60])
async def test_a_page_costs_the_same_commands_for_few_and_many_providers(
    api: Api, member: str, command_log: CommandLog, size: int
):
    await directory(spread(size))
    commands: dict[str, list[tuple[str, object]]] = {}
    for order, filter_ in (
        ("name", {"city": "Київ"}),
        ("near", {"near": {"lat": 50.45, "lon": 30.52}}),
    ):
        first = await listed(api, member, filter=filter_, first=3)
        start = len(command_log.commands)
        await listed(api, member, filter=filter_, first=3, after=first["pageInfo"]["endCursor"])
        commands[order] = command_log.during_request(start)  # fmt: skip

    # The session and its account, then one query for the page (and the total); near a
    # point, the candidates' locations and the page's documents.
    assert sorted(commands["name"]) == [
        ("count", "providers"),
        ("find", "providers"),
        ("find", "sessions"),
        ("find", "users"),
    ]
    assert sorted(commands["near"]) == [
        ("find", "providers"),
        ("find", "providers"),
        ("find", "sessions"),
        ("find", "users"),
    ]


# ---- requests and outcomes


PROVIDER_OUTCOME = """
query Outcome($id: ID!) {
  node(id: $id) {
    ... on Request {
      details {
        ... on DoctorAppointmentDetails { provider { code } }
        ... on LabTestsDetails { provider { code } }
        ... on MedicationsDetails { provider { code } }
      }
      outcome {
        ... on AppointmentOutcome { clinicName clinicAddress provider { code name } }
        ... on LabTestsOutcome { laboratory laboratoryAddress provider { code } }
        ... on MedicationsOutcome { pharmacyName pharmacyAddress provider { code } }
      }
    }
  }
}
"""


def appointment_at(provider_id: str | None) -> dict[str, Any]:
    return {
        "doctorAppointment": {
            "specialty": "Терапевт",
            "preferredTimes": [window()],
            "providerId": provider_id,
        }
    }


async def test_a_request_names_a_provider_of_its_kind(api: Api, member: str):
    ids = await directory()

    filed = await create(api, member, appointment_at(ids["K1"]))
    lab = await create(
        api, member, {"labTests": {"tests": ["ЗАК"], "preferredTimes": [window()], "providerId": ids["K4"]}}
    )  # fmt: skip
    pills = await create(
        api, member, {"medications": {"items": [{"name": "Ібупрофен", "quantity": 1}], "providerId": ids["K5"]}}
    )  # fmt: skip

    assert filed["details"]["provider"] == {"name": "Клініка «Добробут»"}
    assert lab["details"]["provider"] == {"name": "Лабораторія «Синево»"}
    assert pills["details"]["provider"] == {"name": "Аптека «Доброго дня»"}
    plain = await create(api, member, appointment_at(None))
    assert plain["details"]["provider"] is None


@pytest.mark.parametrize(
    ("named", "code", "message"),
    [
        ("K4", "PROVIDER_KIND_MISMATCH", "Виберіть заклад типу CLINIC."),  # a laboratory
        ("unknown", "PROVIDER_UNKNOWN", "Такого закладу немає в довіднику."),
        ("not-an-id", "PROVIDER_UNKNOWN", "Такого закладу немає в довіднику."),
    ],
)
async def test_a_request_naming_a_wrong_provider_is_refused_and_not_filed(
    api: Api, member: str, named: str, code: str, message: str
):
    ids = await directory()
    ids["unknown"] = relay.to_base64("Provider", "0" * 24)
    ids["not-an-id"] = "not-an-id"

    refused = await create(api, member, appointment_at(ids[named]))

    assert refused["__typename"] == "InputError"
    assert refused["fields"] == [{"field": "providerId", "code": code, "message": message}]
    assert await RequestDocument.count() == 0


async def test_an_outcome_takes_the_providers_name_and_address_from_the_directory(
    api: Api, member: str, operator: str
):
    ids = await directory()
    filed = await create(api, member, appointment_at(ids["K1"]))
    await start(api, operator, filed["id"])

    wrong = await change_status(
        api,
        operator,
        filed["id"],
        "SCHEDULED",
        scheduledAt=in_two_days(),
        outcome={"appointment": {"providerId": ids["K5"], "doctor": "Іваненко", "specialty": "Терапевт"}},
    )  # fmt: skip
    scheduled = await change_status(
        api,
        operator,
        filed["id"],
        "SCHEDULED",
        scheduledAt=in_two_days(),
        outcome={"appointment": {"providerId": ids["K2"], "doctor": "Іваненко", "specialty": "Терапевт"}},
    )  # fmt: skip
    shown = (await api.data(PROVIDER_OUTCOME, {"id": filed["id"]}, token=member))["node"]

    assert wrong["__typename"] == "InputError"
    assert [(f["field"], f["code"]) for f in wrong["fields"]] == [
        ("outcome.appointment.providerId", "PROVIDER_KIND_MISMATCH")
    ]
    assert scheduled["status"] == "SCHEDULED"
    assert shown["details"]["provider"] == {"code": "K1"}  # asked for
    assert shown["outcome"] == {
        "clinicName": "Медичний центр «Оберіг»",  # arranged
        "clinicAddress": "вул. Тестова, 2, Київ",
        "provider": {"code": "K2", "name": "Медичний центр «Оберіг»"},
    }


async def test_outcomes_of_labs_and_pharmacies_name_providers_or_free_text(
    api: Api, member: str, operator: str
):
    ids = await directory()
    lab = await create(api, member, {"labTests": {"tests": ["ЗАК"], "preferredTimes": [window()]}})
    pills = await create(
        api, member, {"medications": {"items": [{"name": "Ібупрофен", "quantity": 1}]}}
    )
    for request in (lab, pills):
        await start(api, operator, request["id"])

    await change_status(
        api, operator, lab["id"], "SCHEDULED", scheduledAt=in_two_days(),
        outcome={"labTests": {"providerId": ids["K4"]}},
    )  # fmt: skip
    await change_status(
        api, operator, pills["id"], "APPROVED",
        outcome={"medications": {"handover": "PHARMACY_PICKUP", "pharmacyName": "Аптека №1",
                                 "pharmacyAddress": "Київ, вул. Басейна, 1",
                                 "items": [{"decision": "APPROVED"}]}},
    )  # fmt: skip
    lab_outcome = (await api.data(PROVIDER_OUTCOME, {"id": lab["id"]}, token=member))["node"]
    pills_outcome = (await api.data(PROVIDER_OUTCOME, {"id": pills["id"]}, token=member))["node"]

    assert lab_outcome["outcome"] == {
        "laboratory": "Лабораторія «Синево»",
        "laboratoryAddress": "вул. Тестова, 4, Київ",
        "provider": {"code": "K4"},
    }
    assert pills_outcome["outcome"] == {
        "pharmacyName": "Аптека №1",
        "pharmacyAddress": "Київ, вул. Басейна, 1",
        "provider": None,  # typed as text
    }


MY_PROVIDERS = """{
  me { requests(first: 50) { edges { node { details {
    ... on DoctorAppointmentDetails { provider { code } }
  } } } } }
}"""


async def test_a_page_of_requests_reads_their_providers_in_one_query(
    api: Api, member: str, command_log: CommandLog
):
    ids = await directory()
    for code in ("K1", "K2", "K3", "K1", "K2", "K3"):
        await create(api, member, appointment_at(ids[code]))

    start_at = len(command_log.commands)
    page = (await api.data(MY_PROVIDERS, token=member))["me"]["requests"]["edges"]
    commands = command_log.during_request(start_at)

    assert sorted(edge["node"]["details"]["provider"]["code"] for edge in page) == [
        "K1", "K1", "K2", "K2", "K3", "K3",
    ]  # fmt: skip
    assert commands.count(("find", "providers")) == 1


@pytest.mark.usefixtures("database")
async def test_the_demo_has_twenty_providers_in_two_cities_for_its_programmes():
    async with PasswordHashing(threads=1) as passwords:
        report = await seed_demo(caller=cli_caller(), passwords=passwords)
        again = await seed_demo(caller=cli_caller(), passwords=passwords)

    assert (report.providers.created, report.providers.rejected) == (20, [])
    assert (again.providers.created, again.providers.updated) == (0, 20)
    demo = await ProviderDocument.find_all().to_list()
    assert {p.city for p in demo} == {"Київ", "Львів"}
    assert {p.kind.value for p in demo} == {"clinic", "laboratory", "pharmacy"}
    assert all(p.location is not None and p.opening_hours for p in demo)
    programmes = {card.program for card in await PolicyDocument.find_all().to_list()}
    assert programmes <= {name for p in demo for name in p.programmes}


async def test_the_api_guides_provider_examples_work(api: Api, member: str):
    await directory(
        [
            *KYIV,
            ("K6", "pharmacy", "Аптека «Подорожник»", [], ["Базовий"], (50.4331, 30.5383)),
            ("K7", "clinic", "Клініка «Борис»", [], ["Базовий"], (50.4491, 30.4365)),
        ]
    )
    query = guide()["Providers"]

    by_name = (await api.data(query, example("programme"), token=member))["providers"]
    near = (await api.data(query, example("near"), token=member))["providers"]

    assert [edge["node"]["code"] for edge in by_name["edges"]] == ["K3", "K1"]
    assert [edge["node"]["code"] for edge in near["edges"]] == ["K6"]
    assert near["edges"][0]["distanceKm"] == pytest.approx(
        2.165, abs=0.01
    )  # 1.89 km south, 1.06 km east


async def test_a_radius_with_more_providers_than_can_be_ranked_is_refused(api: Api, member: str):
    crowd = providers.MAX_NEAR_CANDIDATES + 1
    await directory(
        [(f"P{n:04}", "pharmacy", f"Аптека {n:04}", [], [], (50.45, 30.52)) for n in range(crowd)]
    )
    point = {"lat": 50.45, "lon": 30.52}

    (error,) = await errors_of(api, member, filter={"near": point})
    clinics = await codes(api, member, near=point, kind="CLINIC")

    assert [(f["field"], f["code"]) for f in error["extensions"]["fields"]] == [
        ("filter.near", "NEAR_TOO_BROAD")
    ]
    assert clinics == []  # a narrower filter ranks what it keeps
