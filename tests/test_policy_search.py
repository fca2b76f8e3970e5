"""findPolicies at scale: exact keys on an index instead of regular expressions."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from mongoeco import AsyncMongoClient as EmbeddedClient
from mongoeco.engines import SQLiteEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient

from kabinet.db import Database
from kabinet.documents import PolicyDocument
from kabinet.documents.search_keys import (
    SEARCH_KEYS_VERSION,
    pair_key,
    search_keys,
    transliterate,
    words,
)
from kabinet.resolvers.policies import fill_outdated_search_keys, search_query
from tests.accounts import login
from tests.operations import FIND_POLICIES, UPDATE_POLICY_PHONES
from tests.policies import PHONE, card, staff_token
from tests.support import Api, CommandLog, eventually, free_port
from tests.test_cli import create_operator, serving

PAGE_WITHOUT_TOTAL = """
query Find($search: String!) {
  findPolicies(search: $search, first: 5) { edges { node { number } } }
}
"""
PAGE_WITH_TOTAL = """
query Find($search: String!) {
  findPolicies(search: $search, first: 5) { totalCount edges { node { number } } }
}
"""


async def numbers(api: Api, token: str, search: str, **page: object) -> list[str]:
    found = await api.data(FIND_POLICIES, {"search": search, **page}, token=token)
    return [edge["node"]["number"] for edge in found["findPolicies"]["edges"]]


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Коваленко", "kovalenko"),
        ("Єременко", "yeremenko"),
        ("Юрій", "yurii"),
        ("Згурський", "zghurskyi"),
        ("Марʼяна", "mariana"),
        ("Щербак", "shcherbak"),
        ("Гнатюк", "hnatiuk"),
        ("Ґудзь", "gudz"),
        ("Лук'янчук", "lukianchuk"),
    ],
)
def test_names_are_transliterated_by_the_national_standard(cyrillic: str, latin: str):
    assert [transliterate(word) for word in words(cyrillic)] == [latin]


def test_keys_are_prefixes_of_the_number_and_of_each_name_word_in_both_scripts():
    keys = search_keys("UA-7", "Бондар-Мюллер Ірина", ["+380671234567"])

    assert {"u", "ua", "ua-", "ua-7"} <= set(keys)
    assert {"б", "бон", "бондар", "bondar", "мюллер", "miuller", "ірина", "iryna"} <= set(keys)
    assert "+380671234567" in keys
    assert len(keys) == len(set(keys))


def test_pair_keys_join_a_name_words_start_to_the_start_of_each_other_word():
    keys = set(search_keys("UA-7", "Лисенко Марко Ян", []))

    assert {"lyse m", "lyse mar", "lyse y", "lyse yan"} <= keys
    assert {"mark l", "mark lys", "mark y", "mark yan"} <= keys
    assert not {key for key in keys if key.startswith("yan ")}  # too short to lead a pair
    assert not {"lyse ma", "lyse mark"} & keys


@pytest.mark.parametrize(
    ("search", "pair"),
    [
        ("Лисенко Марко", "lyse mar"),
        ("Марко Лисенко", "lyse mar"),  # the longest word leads
        ("lysenko m", "lyse m"),
        ("Лисенко Ма Петр", "lyse pet"),
        ("Коваленко ко", None),  # "ко" may begin "Коваленко" itself
        ("Коваленко Ол", "kova o"),  # two letters: the initial's key
        ("Ко Ма", None),  # a lead of 2 letters may be a whole short name word
        ("Марк Марко", None),  # one name word can begin with both
        ("Лисенко Марко Лис", "lyse mar"),
    ],
)
def test_a_search_of_several_words_is_led_by_one_pair_key(search: str, pair: str | None):
    assert pair_key(words(search)) == pair
    led = search_query(search, pair_keys=True)["$or"][-1]["search_keys"]["$all"]
    assert led == ([pair] if pair else []) + words(search)
    # Before this process re-keyed the cards, some may lack pair keys: none leads.
    unled = search_query(search, pair_keys=False)["$or"][-1]["search_keys"]["$all"]
    assert unled == words(search)


@pytest.mark.parametrize(
    ("name", "search"),
    [
        ("Лисенко Марко Іванович", "лисенко мар"),
        ("Лисенко Марко Іванович", "Ivanovych Lys"),
        ("Лисенко Марко Іванович", "марко лисенко і"),
        ("Єременко Юрій", "yere yu"),
        ("Згурський Ігор", "згу іг"),  # "zghu ih"
        ("Smith John", "smit jo"),
        ("Бондар-Мюллер Ірина", "miul bond"),
        ("Марʼяна Гнатюк", "mariana hnat"),
    ],
)
def test_every_card_a_search_of_several_words_matches_holds_its_pair_key(name: str, search: str):
    keys = set(search_keys("UA-1", name, []))

    assert set(words(search)) <= keys  # the card matches the search word by word
    assert pair_key(words(search)) in keys


async def test_a_name_is_found_by_any_words_prefix_in_cyrillic_or_latin(api: Api):
    await card("UA-1", PHONE, name="Коваленко Олена Петрівна")
    await card("UA-2", name="Єременко Юрій")
    await card("UA-3", name="Kovalchuk Anna")
    await card("UA-4", name="Марʼяна Гнатюк")
    operator = await staff_token(api, "operator@example.com", "operator")

    assert await numbers(api, operator, "kova") == ["UA-1", "UA-3"]
    assert await numbers(api, operator, "КОВАЛЕН") == ["UA-1"]
    assert await numbers(api, operator, "Петрів") == ["UA-1"]
    assert await numbers(api, operator, "olena kov") == ["UA-1"]
    assert await numbers(api, operator, "Олена Єре") == []  # every word must match
    assert await numbers(api, operator, "yer") == ["UA-2"]
    assert await numbers(api, operator, "мар'я") == ["UA-4"]  # any apostrophe
    assert await numbers(api, operator, "mariana hnat") == ["UA-4"]
    assert await numbers(api, operator, "ovalenko") == []  # prefixes, not inner parts
    assert await numbers(api, operator, "Петрівна Коваленко О") == ["UA-1"]  # by a pair key
    assert await numbers(api, operator, "hnatiuk mar") == ["UA-4"]
    assert await numbers(api, operator, "Коваленко Ю") == []


async def test_number_prefix_in_any_case_and_phone_in_any_usual_form(api: Api):
    await card("UA-2026-101", PHONE)
    await card("UA-2026-102", "+380501112233")
    await card("UB-1")
    operator = await staff_token(api, "operator@example.com", "operator")

    assert await numbers(api, operator, "ua-2026-10") == ["UA-2026-101", "UA-2026-102"]
    assert await numbers(api, operator, "u") == ["UA-2026-101", "UA-2026-102", "UB-1"]
    assert await numbers(api, operator, "UA-2026-102") == ["UA-2026-102"]
    for typed in ("+380671234567", "067 123 45 67", "(067) 123-45-67", "+38 067 123 4567"):
        assert await numbers(api, operator, typed) == ["UA-2026-101"], typed
    assert await numbers(api, operator, "067 123") == []  # not a whole phone


async def test_pages_follow_the_number_across_number_name_and_phone_matches(api: Api):
    await card("UA-3", name="Шевчук Андрій")
    await card("UA-1", name="Шевчук Ірина")
    await card("UA-2", PHONE, name="Бондар Ірина")
    await card("UA-4", name="Шевченко Ірина")
    operator = await staff_token(api, "operator@example.com", "operator")
    found = []
    after = None
    while True:
        page = (
            await api.data(
                FIND_POLICIES, {"search": "шевч", "first": 2, "after": after}, token=operator
            )
        )["findPolicies"]
        found.append([edge["node"]["number"] for edge in page["edges"]])
        assert page["totalCount"] == 3
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert found == [["UA-1", "UA-3"], ["UA-4"]]


async def test_an_operators_phone_change_rewrites_the_keys(api: Api):
    policy = await card("UA-1", "+380501112233")
    operator = await staff_token(api, "operator@example.com", "operator")
    policy_id = (await api.data(FIND_POLICIES, {"search": "UA-1"}, token=operator))["findPolicies"][
        "edges"
    ][0]["node"]["id"]

    await api.data(
        UPDATE_POLICY_PHONES, {"input": {"policyId": policy_id, "phones": [PHONE]}}, token=operator
    )

    assert await numbers(api, operator, PHONE) == ["UA-1"]
    assert await numbers(api, operator, "+380501112233") == []
    assert await numbers(api, operator, "коваленко") == ["UA-1"]  # the name's keys stay
    stored = await PolicyDocument.get(policy.id)
    assert stored.search_keys == search_keys("UA-1", "Коваленко Олена", [PHONE])


async def test_the_total_is_counted_only_when_asked_for(api: Api, command_log: CommandLog):
    for n in range(3):
        await card(f"UA-{n}", name="Шевчук Андрій")
    operator = await staff_token(api, "operator@example.com", "operator")

    start = len(command_log.commands)
    without = await api.data(PAGE_WITHOUT_TOTAL, {"search": "шев"}, token=operator)
    page_only = command_log.during_request(start)
    start = len(command_log.commands)
    counted = await api.data(PAGE_WITH_TOTAL, {"search": "шев"}, token=operator)
    with_total = command_log.during_request(start)

    assert len(without["findPolicies"]["edges"]) == 3
    assert counted["findPolicies"]["totalCount"] == 3
    # session, user, the page; the count adds one command
    assert [name for name, _ in page_only] == ["find", "find", "find"], page_only
    assert len(with_total) == len(page_only) + 1, with_total
    assert with_total[-1] == ("count", "policies")


@pytest.mark.usefixtures("database")
async def test_cards_keyed_before_or_by_an_earlier_scheme_are_keyed_at_start_up(api: Api):
    collection = PolicyDocument.get_pymongo_collection()
    for n in range(5):
        await card(f"UA-{n}", PHONE, name=f"Шевчук Андрій{n}")
    await collection.update_many(  # as stored before the keys, or with prefix keys only
        {"number": {"$in": ["UA-0", "UA-1"]}},
        {"$unset": {"search_keys": "", "search_keys_version": ""}},
    )
    await collection.update_many(
        {"number": {"$in": ["UA-2", "UA-3", "UA-4"]}},
        {"$pull": {"search_keys": {"$regex": " "}}, "$set": {"search_keys_version": 1}},
    )
    operator = await staff_token(api, "operator@example.com", "operator")
    assert await numbers(api, operator, "шевчук") == ["UA-2", "UA-3", "UA-4"]
    assert await numbers(api, operator, "шевчук андрій") == []

    assert await fill_outdated_search_keys(batch_size=2) == 5
    assert await fill_outdated_search_keys(batch_size=2) == 0  # nothing left to do

    assert await numbers(api, operator, "shevchuk andr") == [f"UA-{n}" for n in range(5)]
    assert await numbers(api, operator, "067 123 45 67") == [f"UA-{n}" for n in range(5)]
    versions = await collection.distinct("search_keys_version")
    assert versions == [SEARCH_KEYS_VERSION]


def explained_plan(explained: dict[str, Any]) -> str:
    return str(explained.get("queryPlanner", explained))


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("kovalenko", ["UA-1", "UA-2"]),
        ("Олена Ков", ["UA-1", "UA-2"]),
        ("ua-1", ["UA-1"]),
        ("067 123 45 67", ["UA-1", "UA-2"]),
    ],
)
async def test_search_queries_run_on_the_index_not_in_python(
    database: Database, tmp_path: Path, search: str, expected: list[str]
):
    """On MongoDB (KABINET_TEST_MONGODB_URI) the plan is an index scan of the search keys
    (the matching cards are then sorted by number). On the embedded SQLite engine it runs
    as SQL, without decoding every card in Python (the old regular expressions did), on
    the cards the keys' index names (see the plan test)."""
    query = {"$and": [search_query(search, pair_keys=True), {"number": {"$gt": "UA-0"}}]}
    if database.embedded_requests is None:  # a real MongoDB
        collection = PolicyDocument.get_pymongo_collection()
        plan = explained_plan(await collection.find(query).sort("number").limit(21).explain())
        assert "IXSCAN" in plan, plan
        assert "search_key" in plan, plan
        return
    async with EmbeddedClient(SQLiteEngine(str(tmp_path / "search.sqlite3"))) as engine_client:
        server = AsyncMongoEcoProxyServer(client=engine_client, host="127.0.0.1", port=0)
        address = await server.start()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(address.uri)
        try:
            collection = client["kabinet"]["policies"]
            for index in PolicyDocument.Settings.indexes:
                await collection.create_indexes([index])
            await collection.insert_many(
                [
                    {
                        "number": f"UA-{n}",
                        "search_keys": search_keys(f"UA-{n}", "Коваленко Олена", [PHONE]),
                    }
                    for n in range(3)
                ]
            )
            cursor = collection.find(query).sort("number").limit(21)
            explained = await cursor.explain()
            found = await collection.find(query).sort("number").to_list()
        finally:
            await client.close()
            await server.close()
    plan = explained.get("queryPlanner", explained)
    assert plan["strategy"] == "sql", plan.get("details", {}).get("fallback_reason")
    assert [doc["number"] for doc in found] == expected


async def test_kabinet_serve_keys_the_cards_an_older_version_stored(tmp_path: Path):
    await create_operator(tmp_path)
    port = free_port()
    async with serving(tmp_path, embedded_port=str(port)):
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(f"mongodb://127.0.0.1:{port}")
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        stored = {  # as the import wrote a row before the search keys
            "number": "UA-OLD-1",
            "insurer": "Демо",
            "program": "Оптимальний",
            "status": "active",
            "valid_from": moment,
            "valid_to": moment.replace(month=12, day=31),
            "insured_person": {"full_name": "Коваленко Олена", "birth_date": None},
            "phones": [PHONE],
            "relationship": "self",
            "coverage_notes": None,
            "created_at": moment,
            "updated_at": moment,
        }
        await client["kabinet"]["policies"].insert_one(stored)
        await client.close()

    async with serving(tmp_path) as http:
        api = Api(http)
        token = (await login(api, "operator@example.com"))["token"]

        async def found() -> list[str] | None:
            return await numbers(api, token, "kovalenko") or None

        assert await eventually(found) == ["UA-OLD-1"]
