"""Every query the cabinet sends is served by an index (issue 14, items 2-3).

The hot queries are not listed by hand: a scenario drives every request path through the API
(sign-up, login, `me`, contacts and their codes, cards, requests with files, the operators'
queue with and without filters, comments and status changes, the security log, account
deletion, and the background outbox and deletion tasks meanwhile), and the test explains
each selecting command the application actually sent. A query added to one of these paths
is explained too, so one that no index serves fails here.

Where: on the embedded SQLite engine (what `kabinet serve` runs: a second embedded server
holding a copy of the scenario's data), and on MongoDB when `KABINET_TEST_MONGODB_URI` is
set (no COLLSCAN in the winning plan). The memory engine of the test fixture is not judged:
its `explain()` reports a Python scan for every query, indexed or not.
"""

import importlib.metadata
import json
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from strawberry import relay

from kabinet import engine_compat
from kabinet.cli import cli_caller
from kabinet.clock import clock
from kabinet.config import Settings
from kabinet.db import EMBEDDED_FILE, Database
from kabinet.documents import Relationship, UserDocument
from kabinet.documents.policy import shift_months
from kabinet.resolvers import guardians
from kabinet.resolvers.policy_import import import_rows
from kabinet.resolvers.requests import due
from kabinet.services import Services
from tests.operations import (
    ADD_CONTACT,
    ASSIGN_REQUEST,
    CANCEL_REQUEST,
    COVERAGE_CHECK,
    DUE_QUEUE,
    FIND_POLICIES,
    ME,
    MY_COVERAGE,
    MY_POLICIES,
    MY_REQUESTS,
    NODE,
    PROVIDERS,
    QUEUE_COUNTS,
    REQUEST_QUEUE,
    REVOKE_CARD_LINKS,
    SECURITY_EVENTS,
    VERIFY_CONTACT,
)
from tests.policies import card, staff_token
from tests.requests_support import callback, create
from tests.support import Api, CommandLog, Mailbox, SmsGateway, eventually, sms_code
from tests.test_card_pdf import card_link, download, my_cards
from tests.test_card_pdf import verify as verify_card
from tests.test_privacy import delete, olena_with_everything, person
from tests.test_providers import appointment_at, directory

ON_MONGODB = bool(os.environ.get("KABINET_TEST_MONGODB_URI"))

# What the embedded engine (mongoeco 4.11, patched) still reads whole, by query shape as
# `shape()` prints it, and why. The test fails when a shape not listed scans, and when a
# listed one no longer scans or is no longer sent (take it off then). On MongoDB none of
# these is allowed but the counts of a whole collection.
TIME_ORDER = (
    "the engine serves no range on a date from an index (it translates it into JSON "
    "expressions no index matches), and the patch serves a sort from one only when nothing "
    "else filters: a later page of a newest-first list, or a filtered one, reads the "
    "collection in index order up to its page"
)
COMPOUND_ONLY = (
    "the fields are indexed only as a compound index's prefix, which the engine narrows by "
    "for an equality on an ObjectId only"
)
NULL_EQUALITY = (
    "an equality on null (the unassigned queue): the engine, and its patch, narrow by an "
    "index for ObjectIds and strings only; MongoDB serves it from `assignee_newest`"
)
SQLITE_ENGINE_GAPS: dict[str, str] = {
    'audit_events {"$and": [{}, {"$or": [{"at": {"$lt": "?"}}, {"_id": {"$lt": "?"}, "at": "?"}]}]} sort {"at": -1, "_id": -1}': TIME_ORDER,
    'audit_events {"$or": [{"subject_id": "?"}, {"actor_id": "?"}]}': COMPOUND_ONLY,
    'audit_events {"$or": [{"subject_id": "?"}, {"actor_id": "?"}]} sort {"at": -1, "_id": -1}': TIME_ORDER,
    'audit_events {"action": "?"} sort {"at": -1, "_id": -1}': TIME_ORDER,
    "audit_events {}": TIME_ORDER,
    'fs.chunks {"files_id": {"$in": "[?]"}}': COMPOUND_ONLY,
    'requests {"$and": [{"due_at": {"$lte": "?", "$type": "?"}}, {"$or": [{"created_at": {"$lt": "?"}}, {"_id": {"$lt": "?"}, "created_at": "?"}]}]} sort {"created_at": -1, "_id": -1}': TIME_ORDER,
    'requests {"$and": [{}, {"$or": [{"created_at": {"$lt": "?"}}, {"_id": {"$lt": "?"}, "created_at": "?"}]}]} sort {"created_at": -1, "_id": -1}': TIME_ORDER,
    'requests {"$and": [{"assignee_id": "null"}, {"$or": [{"created_at": {"$lt": "?"}}, {"_id": {"$lt": "?"}, "created_at": "?"}]}]} sort {"created_at": -1, "_id": -1}': NULL_EQUALITY,
    'requests {"assignee_id": "null"}': NULL_EQUALITY,
    'requests {"assignee_id": "null"} sort {"created_at": -1, "_id": -1}': NULL_EQUALITY,
    'requests {"due_at": {"$lte": "?", "$type": "?"}} sort {"created_at": -1, "_id": -1}': TIME_ORDER,
    'requests {"kind": {"$in": "[?]"}} sort {"created_at": -1, "_id": -1}': TIME_ORDER,
    "requests {}": TIME_ORDER,
}
GUARDIAN_NOTICES_DUE = 'policies {"guardian_notice_at": {"$lte": "?", "$type": "?"}}'
# Policy.coverage and coverageCheck: a card's usage (`coverage.usage_of_cards`).
CARD_USAGE = 'requests {"usage.policy_id": {"$in": "[?]"}}'
# `providers`: every filter is an `$all` of directory keys; near a point, with the grid
# cells of its radius.
PROVIDER_KEYS = '{"directory_keys": {"$all": "[?]"}}'
PROVIDER_LISTS = {
    f'providers {PROVIDER_KEYS} sort {{"sort_name": 1, "_id": 1}}',
    f"providers {PROVIDER_KEYS}",  # totalCount
    f'providers {{"$and": [{PROVIDER_KEYS}, {{"$or": [{{"sort_name": {{"$gt": "?"}}}}, '
    f'{{"_id": {{"$gt": "?"}}, "sort_name": "?"}}]}}]}} sort {{"sort_name": 1, "_id": 1}}',
    f'providers {{"$and": [{PROVIDER_KEYS}, {{"directory_keys": {{"$in": "[?]"}}}}]}}',
}
WHOLE_COLLECTION_COUNTS = {"requests {}", "audit_events {}"}  # totalCount, when asked
MONGODB_GAPS = dict.fromkeys(WHOLE_COLLECTION_COUNTS, "a count of a whole collection")


@dataclass(frozen=True, slots=True)
class Selection:
    """What one command selects: the part of it an index has to serve."""

    collection: str
    filter: dict[str, Any]
    sort: dict[str, int] | None = None
    hint: Any = None
    limit: int = 0


def selections(command: dict[str, Any]) -> Iterator[Selection]:
    """The selections of a find, findAndModify, update, delete, count or aggregate."""
    name = next(iter(command))
    collection = command[name]
    if name == "find":
        yield Selection(
            collection,
            command.get("filter", {}),
            command.get("sort"),
            command.get("hint"),
            command.get("limit", 0),
        )
    elif name == "findAndModify":
        yield Selection(collection, command.get("query", {}), command.get("sort"))
    elif name == "update":
        for update in command.get("updates", []):
            yield Selection(collection, update["q"], None, update.get("hint"))
    elif name == "delete":
        for deletion in command.get("deletes", []):
            yield Selection(collection, deletion["q"], None, deletion.get("hint"))
    elif name == "count":
        yield Selection(collection, command.get("query", {}))
    elif name == "aggregate":
        pipeline = command.get("pipeline", [])
        match = pipeline[0].get("$match", {}) if pipeline else {}
        sort = next((stage["$sort"] for stage in pipeline if "$sort" in stage), None)
        yield Selection(collection, match, sort, command.get("hint"))


def _skeleton(value: Any) -> Any:
    """The value's structure; null is kept, as an index may serve a value but not null."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return {key: _skeleton(item) for key, item in value.items()}
    if isinstance(value, list):
        return (
            [_skeleton(item) for item in value] if value and isinstance(value[0], dict) else "[?]"
        )
    return "?"


def shape(selection: Selection) -> str:
    """The query without its values: two commands of one shape need the same index."""
    parts = [selection.collection, json.dumps(_skeleton(selection.filter), sort_keys=True)]
    if selection.sort:
        parts.append("sort " + json.dumps(dict(selection.sort)))
    if selection.hint:
        parts.append(f"hint {selection.hint}")
    if not selection.filter and not selection.sort and selection.limit:
        parts.append("limit")  # reads `limit` documents, whatever the collection's size
    return " ".join(parts)


_WHOLE_COLLECTION = re.compile(
    r"^SCAN documents\b|documents USING (COVERING )?INDEX \S+ \(db_name=\? AND coll_name=\?\)$"
)


def sqlite_scans(explained: dict[str, Any], selection: Selection) -> list[str]:
    """The steps of the embedded SQLite engine's plan that read the whole collection. A
    first page of a whole collection in index order (no filter, a sort, a limit, and no
    sort step) reads `limit` entries of that index, not the collection."""
    if explained.get("strategy") != "sql":
        return [f"strategy {explained.get('strategy')}"]
    steps = explained["details"]["engine_details"]
    in_index_order = not any("TEMP B-TREE" in step for step in steps)
    if not selection.filter and selection.sort and selection.limit and in_index_order:
        return []
    return [step for step in steps if _WHOLE_COLLECTION.search(step)]


def mongodb_scans(explained: dict[str, Any], _selection: Selection) -> list[str]:
    """COLLSCAN stages of MongoDB's winning plan."""
    winning = json.dumps(explained["queryPlanner"]["winningPlan"])
    return ["COLLSCAN"] if "COLLSCAN" in winning else []


async def explain(database: AsyncDatabase[dict[str, Any]], selection: Selection) -> dict[str, Any]:
    cursor = database[selection.collection].find(selection.filter)
    if selection.sort:
        cursor = cursor.sort(list(selection.sort.items()))
    if selection.hint:
        cursor = cursor.hint(selection.hint)
    if selection.limit:
        cursor = cursor.limit(selection.limit)
    return await cursor.explain()


@pytest.fixture
async def embedded_sqlite(tmp_path: Path) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A second embedded server on the SQLite engine (empty: the test copies data in)."""
    settings = Settings(_env_file=None, data_dir=tmp_path, database="plans")
    async with Database(settings, bind_documents=False) as database:
        yield database.db


async def copy(source: AsyncDatabase[dict[str, Any]], target: AsyncDatabase[dict[str, Any]]):
    """Every collection with its indexes (GridFS makes its own) and documents."""
    for collection in await source.list_collection_names():
        async for index in await source[collection].list_indexes():
            if index["name"] != "_id_":
                options = {k: v for k, v in index.items() if k not in ("v", "key", "ns")}
                await target[collection].create_index(list(index["key"].items()), **options)
        documents = await source[collection].find({}).to_list()
        if documents:
            await target[collection].insert_many(documents)


async def scenario(api: Api, mailbox: Mailbox, sms_gateway: SmsGateway, services: Services) -> None:
    """Every request path once, and the queries of the second page of each list."""
    operator = await staff_token(api, "operator@example.com", "operator")
    admin = await staff_token(api, "admin@example.com", "admin")
    await card("UA-9001", "+380501112233", name="Шевченко Тарас")
    olena = await olena_with_everything(api, mailbox, operator)
    # Someone who stays: no collection is empty when the plans are explained.
    await person(
        api,
        mailbox,
        operator,
        email="taras@example.com",
        phone="+380931112233",
        last_name="Шевченко",
        street="Січових Стрільців",
        iban="UA433052990000026201234567890",
    )
    token = olena.token
    # A child's card whose guardian access ends in ten days: its notice is due.
    child = await card(
        "UA-9002",
        olena.phone,
        relationship=Relationship.CHILD,
        birth_date=shift_months(clock.now().date() + timedelta(days=10), -12 * 18),
    )
    await guardians.announce_endings(services)
    await api.data(ME, token=token)
    await api.data(MY_POLICIES, token=token)
    await api.data(NODE, {"id": relay.to_base64("Policy", str(child.id))}, token=token)
    # A card to show: the PDF, its link, revoking; staff print one (kept after erasure).
    number, mine = next(iter((await my_cards(api, token)).items()))
    # What the card covers, and a check before filing (issue 17): programmes by `_id`,
    # the card's usage by `usage_by_card`.
    await import_rows(caller=cli_caller(), rows=[], programmes=[DEMO_PROGRAMME])
    await api.data(MY_COVERAGE, token=token)
    check = {"policyId": mine["id"], "kind": "REIMBURSEMENT", "amount": "100.00"}
    assert (await api.data(COVERAGE_CHECK, check, token=token))["coverageCheck"]["verdict"]
    await verify_card(api, await card_link(api, token, number))
    await api.data(REVOKE_CARD_LINKS, {"input": {}}, token=token)
    assert (await download(api, operator, mine["cardPdfUrl"])).status_code == 200
    added = (await api.data(ADD_CONTACT, {"input": {"value": "+380501112233"}}, token=token))[
        "addContact"
    ]
    code = sms_code((await sms_gateway.wait_for("+380501112233"))[0])
    verify = {"input": {"contactId": added["id"], "code": code}}
    await api.data(VERIFY_CONTACT, verify, token=token)
    called = await callback(api, token, key="plans-key-1")
    await callback(api, token, key="plans-key-1")
    other = await callback(api, token, key="plans-key-2")
    await api.data(CANCEL_REQUEST, {"input": {"requestId": called["id"]}}, token=token)
    first_page = (await api.data(MY_REQUESTS, {"first": 1}, token=token))["me"]["requests"]
    after = first_page["pageInfo"]["endCursor"]
    await api.data(MY_REQUESTS, {"first": 1, "after": after}, token=token)
    operator_user = await UserDocument.find_one({"email": "operator@example.com"})
    assert operator_user is not None
    operator_id = relay.to_base64("User", str(operator_user.id))
    for request_id in (called["id"], other["id"]):
        take = {"input": {"requestId": request_id, "operatorId": operator_id}}
        assert (await api.data(ASSIGN_REQUEST, take, token=operator))["assignRequest"]["assignee"]
    for queue_filter in (
        None,
        {"statuses": ["IN_PROGRESS"]},
        {"kinds": ["CALLBACK"]},
        {"assignedToMe": True},
        {"unassigned": True},
        {"assigneeId": operator_id},
    ):
        page = await api.data(REQUEST_QUEUE, {"first": 1, "filter": queue_filter}, token=operator)
        after = page["requestQueue"]["pageInfo"]["endCursor"]
        await api.data(
            REQUEST_QUEUE, {"first": 1, "after": after, "filter": queue_filter}, token=operator
        )
    # Past the callbacks' first response: the overdue filter, the announcement, the counts.
    clock.advance(timedelta(minutes=31))
    await due.announce_overdue()
    for due_filter in (None, {"overdue": True}):
        for order in ("DUE_SOONEST", "NEWEST"):
            variables = {"first": 1, "filter": due_filter, "orderBy": order}
            page = await api.data(DUE_QUEUE, variables, token=operator)
            after = page["requestQueue"]["pageInfo"]["endCursor"]
            await api.data(DUE_QUEUE, {**variables, "after": after}, token=operator)
    await api.data(QUEUE_COUNTS, token=operator)
    for search in ("+380671234567", "Коваленко Олена"):
        await api.data(FIND_POLICIES, {"search": search}, token=operator)
    # The provider directory: each filter, a second page of each order, a request naming one.
    clinics = await directory()
    await create(api, token, appointment_at(clinics["K1"]))
    maidan = {"lat": 50.4501, "lon": 30.5234}
    for provider_filter in (
        None,
        {"city": "Київ", "kind": "CLINIC"},
        {"specialty": "Терапія", "programme": "Оптимальний"},
        {"text": "добр"},
        {"near": maidan},
        {"near": maidan, "kind": "CLINIC"},
    ):
        variables = {"first": 1, "filter": provider_filter}
        page = (await api.data(PROVIDERS, variables, token=token))["providers"]
        after = page["pageInfo"]["endCursor"]
        await api.data(PROVIDERS, {**variables, "after": after}, token=token)
    user = await UserDocument.find_one({"email": olena.email})
    assert user is not None
    for events_filter in (None, {"userId": str(user.id)}, {"action": "LOGIN"}):
        page = await api.data(SECURITY_EVENTS, {"first": 1, "filter": events_filter}, token=admin)
        after = page["securityEvents"]["pageInfo"]["endCursor"]
        await api.data(
            SECURITY_EVENTS, {"first": 1, "after": after, "filter": events_filter}, token=admin
        )
    assert (await delete(api, token))["__typename"] == "Accepted"
    await eventually(lambda: _gone(olena.email))


DEMO_PROGRAMME = {
    "insurer": "Демо Страхування",
    "program": "Оптимальний",
    "versions": [
        {
            "effective_from": "2020-01-01",
            "benefits": [{"kind": "reimbursement", "limit_amount": "20000.00"}],
        }
    ],
}


async def _gone(email: str) -> bool:
    return await UserDocument.find_one({"email": email}) is None


async def test_every_query_the_request_paths_send_is_served_by_an_index(
    api: Api,
    mailbox: Mailbox,
    sms_gateway: SmsGateway,
    command_log: CommandLog,
    settings: Settings,
    database: Database,
    embedded_sqlite: AsyncDatabase[dict[str, Any]],
):
    start = len(command_log.selecting)
    await scenario(api, mailbox, sms_gateway, Services.of(settings, database))
    by_shape: dict[str, Selection] = {}
    for command in command_log.selecting[start:]:
        for selection in selections(command):
            by_shape.setdefault(shape(selection), selection)
    await copy(database.db, embedded_sqlite)

    target = database.db if ON_MONGODB else embedded_sqlite
    scans_of = mongodb_scans if ON_MONGODB else sqlite_scans
    gaps = MONGODB_GAPS if ON_MONGODB else SQLITE_ENGINE_GAPS
    scanning = {}
    for key, selection in sorted(by_shape.items()):
        if key.endswith(" limit"):
            continue
        scans = scans_of(await explain(target, selection), selection)
        if scans:
            scanning[key] = scans
    assert len(by_shape) > 40, sorted(by_shape)  # the scenario reached every path
    assert GUARDIAN_NOTICES_DUE in by_shape  # guardians.announce_endings
    assert CARD_USAGE in by_shape
    assert set(by_shape) >= PROVIDER_LISTS  # every filter, each order, a later page
    assert {key: scans for key, scans in scanning.items() if key not in gaps} == {}
    no_longer = sorted(key for key in gaps if key in by_shape and key not in scanning)
    assert no_longer == [], "\n".join(no_longer)  # take them off the list
    assert sorted(key for key in gaps if key not in by_shape) == []


# ---- the engine patch (kabinet/engine_compat.py)


def test_the_engine_patch_is_re_examined_when_the_engine_changes():
    assert importlib.metadata.version("mongoeco") == engine_compat.PATCHED_VERSION


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
@pytest.mark.parametrize("in_memory", [True, False], ids=["memory", "sqlite"])
async def test_the_patched_engine_still_refuses_duplicate_ids_and_unique_keys(
    tmp_path: Path, in_memory: bool
):
    settings = Settings(_env_file=None, data_dir=tmp_path, database="patch")
    async with Database(settings, in_memory=in_memory, bind_documents=False) as database:
        users = database.db["users"]
        await users.create_index("email", unique=True)
        await users.create_index("phones")
        known, named = ObjectId(), "counter-2026"
        await users.insert_one({"_id": known, "email": "a@example.com", "phones": ["+1"]})
        await users.insert_one({"_id": named, "email": "b@example.com", "phones": "+2"})
        await users.insert_one({"_id": 7, "email": "c@example.com"})

        for duplicate in (
            {"_id": known, "email": "d@example.com"},
            {"_id": named, "email": "e@example.com"},
            {"_id": 7.0, "email": "f@example.com"},  # numbers equal across types
            {"email": "a@example.com"},
        ):
            with pytest.raises(DuplicateKeyError) as refused:
                await users.insert_one(duplicate)
            assert refused.value.code == 11000
        with pytest.raises(DuplicateKeyError):
            await users.update_one({"_id": named}, {"$set": {"email": "a@example.com"}})

        assert await users.count_documents({}) == 3
        found = await users.find({"_id": {"$in": [known, named, ObjectId()]}}).to_list()
        assert sorted(document["email"] for document in found) == ["a@example.com", "b@example.com"]
        by_phone = await users.find({"phones": {"$in": ["+1", "+2", "+3"]}}).to_list()
        assert sorted(document["email"] for document in by_phone) == [
            "a@example.com",
            "b@example.com",
        ]
        contacts = database.db["contacts"]
        await contacts.create_index([("user_id", 1), ("value", 1)], unique=True)
        await contacts.insert_one({"user_id": known, "value": "+1"})
        await contacts.insert_one({"user_id": named, "value": "+1"})  # another owner's
        second = (await contacts.insert_one({"user_id": known, "value": "+2"})).inserted_id
        with pytest.raises(DuplicateKeyError) as refused:
            await contacts.insert_one({"user_id": known, "value": "+1"})
        assert refused.value.code == 11000
        with pytest.raises(DuplicateKeyError):
            await contacts.update_one({"_id": second}, {"$set": {"value": "+1"}})
        await contacts.update_one({"_id": second}, {"$set": {"value": "+2", "verified": True}})
        assert await contacts.count_documents({"value": "+1"}) == 2

        await users.update_one({"_id": known}, {"$set": {"phones": ["+3"]}})
        assert [d["email"] for d in await users.find({"phones": "+3"}).to_list()] == [
            "a@example.com"
        ]
        assert await users.find_one({"phones": "+1"}) is None


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
async def test_the_patched_engine_keeps_what_it_knows_of_a_collection_across_writes(
    tmp_path: Path,
):
    """A write no longer makes the next read scan the collection for values SQL cannot
    compare or order, and a written value SQL cannot order still sends the sort to Python."""
    from mongoeco import AsyncMongoClient as EmbeddedClient
    from mongoeco.engines import SQLiteEngine

    engine_compat.apply()
    engine = SQLiteEngine(str(tmp_path / "features.sqlite3"))
    async with EmbeddedClient(engine) as client:
        items = client["kabinet"]["items"]
        await items.insert_many([{"n": n} for n in range(4)])

        async def by_n(direction: int) -> list[Any]:
            return [item["n"] for item in await items.find({}).sort("n", direction).to_list()]

        def known() -> set[tuple[str, str, str]]:
            return {key for key in engine._collection_features_cache if key[1] == "items"}

        assert await by_n(-1) == [3, 2, 1, 0]
        asked = known()
        assert ("kabinet", "items", "unsortable_in_sql:n") in asked  # the sort's last question
        assert (
            engine._collection_features_cache[("kabinet", "items", "uniform_scalar_sort_type:n")]
            == "number"
        )
        await items.insert_one({"n": 7})
        assert known() == asked  # kept across the write: no scan for the next read
        assert await by_n(-1) == [7, 3, 2, 1, 0]

        await items.update_one({"n": 7}, {"$set": {"n": [-1, 9]}})
        features = engine._collection_features_cache
        assert features[("kabinet", "items", "unsortable_in_sql:n")] is True
        assert features[("kabinet", "items", "uniform_scalar_sort_type:n")] is False
        assert await by_n(-1) == [[-1, 9], 3, 2, 1, 0]  # MongoDB orders an array by its largest
        assert await by_n(1) == [[-1, 9], 0, 1, 2, 3]  # ... or smallest element
        await items.insert_one({"n": [10]})
        assert await by_n(-1) == [[10], [-1, 9], 3, 2, 1, 0]


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
async def test_a_sort_served_in_index_order_keeps_the_order_of_mixed_types(tmp_path: Path):
    """While every document holds a date, the patched engine sorts in the index's order; one
    value of another type sends the sort back to the engine's order of types."""
    from mongoeco import AsyncMongoClient as EmbeddedClient
    from mongoeco.engines import SQLiteEngine

    engine_compat.apply()
    engine = SQLiteEngine(str(tmp_path / "order.sqlite3"))
    async with EmbeddedClient(engine) as client:
        items = client["kabinet"]["items"]
        await items.create_index([("at", -1)])
        await items.insert_many([{"at": datetime(2026, 1, day, tzinfo=UTC)} for day in (3, 1, 2)])

        async def newest_first() -> list[Any]:
            found = await items.find({}).sort("at", -1).limit(10).to_list()
            return [
                item["at"] if isinstance(item["at"], ObjectId) else item["at"].day for item in found
            ]

        assert await newest_first() == [3, 2, 1]
        uniform = ("kabinet", "items", "uniform_tagged_type:at")
        assert engine._collection_features_cache[uniform] == "datetime"
        explained = await items.find({}).sort("at", -1).limit(10).explain()
        assert "TEMP B-TREE" not in json.dumps(explained["details"]["engine_details"])

        other = ObjectId()  # BSON orders an ObjectId before any date, its type name after
        await items.insert_one({"at": other})
        assert engine._collection_features_cache[uniform] is False
        assert await newest_first() == [3, 2, 1, other]

        mixed = client["kabinet"]["mixed"]  # the types mixed before the first sort
        await mixed.insert_many([{"at": other}, {"at": datetime(2026, 1, 1, tzinfo=UTC)}])
        assert [item["at"] for item in await mixed.find({}).sort("at", -1).to_list()] == [
            datetime(2026, 1, 1),
            other,
        ]


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
async def test_a_sort_by_a_date_the_filter_requires_walks_its_index(tmp_path: Path):
    """The queue by due time: `due_at` is null on closed requests, so the collection holds
    two types there, but a filter keeping dates only (`$type`, alone or with a range, as
    `due.passed` sends it) is sorted in the index's order, not by sorting every dated
    document."""
    from mongoeco import AsyncMongoClient as EmbeddedClient
    from mongoeco.engines import SQLiteEngine

    engine_compat.apply()
    engine = SQLiteEngine(str(tmp_path / "due.sqlite3"))
    async with EmbeddedClient(engine) as client:
        items = client["kabinet"]["items"]
        await items.create_index([("due", 1), ("_id", 1)])
        days = (3, None, 1, None, 2)
        await items.insert_many(
            [{"due": None if day is None else datetime(2026, 1, day, tzinfo=UTC)} for day in days]
        )
        for query, expected in (
            ({"due": {"$type": "date"}}, [1, 2, 3]),
            ({"due": {"$type": "date", "$gt": datetime(2026, 1, 1, tzinfo=UTC)}}, [2, 3]),
        ):
            cursor = items.find(query).sort([("due", 1), ("_id", 1)]).limit(10)
            assert [item["due"].day for item in await cursor.to_list()] == expected
            explained = await items.find(query).sort([("due", 1), ("_id", 1)]).limit(10).explain()
            assert "TEMP B-TREE" not in json.dumps(explained["details"]["engine_details"])
        everything = await items.find({}).sort([("due", 1), ("_id", 1)]).to_list()
        assert [item["due"] and item["due"].day for item in everything] == [None, None, 1, 2, 3]


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
@pytest.mark.parametrize("table", ["multikey_entries", "scalar_index_entries"])
async def test_a_documents_index_entries_are_found_by_an_index(tmp_path: Path, table: str):
    """Each write to a card deletes its entries by storage key and index name."""
    settings = Settings(_env_file=None, data_dir=tmp_path, database="entries")
    async with Database(settings, bind_documents=False):
        with sqlite3.connect(tmp_path / EMBEDDED_FILE) as connection:
            plan = connection.execute(
                f"EXPLAIN QUERY PLAN DELETE FROM {table} "  # noqa: S608 - a test's own names
                "WHERE collection_id = 1 AND storage_key = 'key' AND index_name = 'phones'"
            ).fetchall()
    assert f"USING INDEX kabinet_{table}_by_document" in str(plan), plan


def entry_table_indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name IN ('multikey_entries', 'scalar_index_entries')"
        ).fetchall()
    return {name for (name,) in rows}


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
async def test_the_engines_indexes_share_one_sqlite_index_per_entry_table(tmp_path: Path):
    """Two indexes of cards write their entries into one SQLite index per table; reads
    by each still use it, uniqueness still holds, and dropping one index or another
    collection leaves the other's reads working."""
    settings = Settings(_env_file=None, data_dir=tmp_path, database="shared")
    async with Database(settings, bind_documents=False) as database:
        cards = database.db["cards"]
        await cards.insert_many([{"number": f"N{n}", "phones": [f"+38066{n}"]} for n in range(5)])
        await cards.create_index("number", unique=True, name="number_unique")
        await cards.create_index("phones", name="phones")
        await cards.create_index("search", name="search")
        other = database.db["other"]
        await other.create_index("tag", name="tag")
        await other.insert_one({"tag": "x"})

        shared = {"kabinet_multikey_entries_lookup", "kabinet_scalar_index_entries_lookup"}
        by_document = {
            "kabinet_multikey_entries_by_document",
            "kabinet_scalar_index_entries_by_document",
        }
        assert (
            entry_table_indexes(tmp_path / EMBEDDED_FILE)
            - by_document
            - {
                "idx_scalar_index_entries_storage"  # the engine's own by document
            }
            == shared
        )
        explained = await cards.find({"phones": "+380662"}).explain()
        assert "kabinet_multikey_entries_lookup" in str(explained), explained
        with pytest.raises(DuplicateKeyError):
            await cards.insert_one({"number": "N1"})

        await cards.drop_index("search")
        await other.drop()
        assert shared <= entry_table_indexes(tmp_path / EMBEDDED_FILE)
        assert [card["number"] for card in await cards.find({"phones": "+380663"}).to_list()] == [
            "N3"
        ]
        assert [c["number"] for c in await cards.find({"number": "N4"}).to_list()] == ["N4"]


def entry_keys(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT element_key FROM scalar_index_entries WHERE index_name = 'number'"
        ).fetchall()
    return sorted(key for (key,) in rows)


def change_the_file(path: Path, sql: str, *params: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(sql, params)


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
async def test_a_files_index_entries_are_rebuilt_on_its_first_start_only(tmp_path: Path):
    """A marked entry (as a rebuild would replace it) survives a restart, and is rebuilt
    when the file has no record of its first rebuild."""
    settings = Settings(_env_file=None, data_dir=tmp_path, database="rebuilt")
    file = tmp_path / EMBEDDED_FILE
    async with Database(settings, bind_documents=False) as database:
        await database.db["cards"].create_index("number", name="number")
        await database.db["cards"].insert_many([{"number": f"N{n}"} for n in range(3)])
    written = entry_keys(file)
    change_the_file(
        file,
        "UPDATE scalar_index_entries SET element_key = 'marked' "
        "WHERE index_name = 'number' AND element_key = ?",
        written[0],
    )

    async with Database(settings, bind_documents=False) as database:
        assert "marked" in entry_keys(file)  # not rebuilt
        assert await database.db["cards"].find_one({"number": "N2"}) is not None
    change_the_file(file, "DELETE FROM kabinet_entries_rebuilt")  # as a file never opened
    async with Database(settings, bind_documents=False):
        assert entry_keys(file) == written


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
async def test_an_array_element_is_tested_with_one_seek(tmp_path: Path):
    """The engine's test "this card has the element" seeks its entry by type score, key
    and document, instead of reading every entry of the index for each card."""
    settings = Settings(_env_file=None, data_dir=tmp_path, database="elements")
    async with Database(settings, bind_documents=False) as database:
        cards = database.db["cards"]
        await cards.create_index("keys", name="keys")
        await cards.insert_many([{"n": n, "keys": [f"k{n}", f"k{n % 2}"]} for n in range(4)])
        query = {"keys": {"$in": ["k1", "k3"]}}

        explained = str(await cards.find(query).explain())
        found = [card["n"] for card in await cards.find(query).to_list()]

    assert "element_key=? AND storage_key=?" in explained, explained
    assert found == [1, 3]


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
async def test_a_sorted_search_reads_only_the_documents_its_index_entries_name(tmp_path: Path):
    """A few named documents are sorted as they are; many are found by walking the sort
    index, each entry tested against the named ones before its document is read."""
    settings = Settings(_env_file=None, data_dir=tmp_path, database="sorted")
    async with Database(settings, bind_documents=False) as database:
        cards = database.db["cards"]
        await cards.create_index("number", unique=True, name="number")
        await cards.create_index("keys", name="keys")
        many = engine_compat.FEW_ENOUGH_TO_SORT + 10
        await cards.insert_many(
            [{"number": f"N{n:04}", "keys": ["many", f"k{n % 100}"]} for n in range(many)]
        )

        async def search(key: str) -> tuple[str, list[str]]:
            cursor = cards.find({"keys": key}).sort("number", -1).limit(3)
            explained = await cursor.explain()
            found = await cards.find({"keys": key}).sort("number", -1).limit(3).to_list()
            return explained["details"]["pushdown"]["sqlFragment"], [c["number"] for c in found]

        few_sql, few = await search("k7")
        many_sql, most = await search("many")

    assert "JOIN documents" not in few_sql, few_sql  # not a walk of the sort index
    assert few == ["N0307", "N0207", "N0107"]
    assert "JOIN documents" in many_sql, many_sql
    assert "scalar_index_entries.storage_key IN (" in many_sql, many_sql
    assert most == [f"N{n:04}" for n in range(many - 1, many - 4, -1)]


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
async def test_an_or_of_in_and_all_is_narrowed_to_the_same_documents(tmp_path: Path):
    settings = Settings(_env_file=None, data_dir=tmp_path, database="narrowed")
    async with Database(settings, bind_documents=False) as database:
        cards = database.db["cards"]
        await cards.create_index("keys", name="keys")
        await cards.insert_many(
            [
                {"n": 1, "keys": ["x"]},
                {"n": 2, "keys": ["a", "b", "c"]},
                {"n": 3, "keys": ["a"]},
                {"n": 4, "keys": "b"},
                {"n": 5, "keys": ["b", "a"]},
            ]
        )
        query = {"$or": [{"keys": {"$in": ["x"]}}, {"keys": {"$all": ["a", "b"]}}]}

        found = sorted(card["n"] for card in await cards.find(query).to_list())
        explained = str(await cards.find(query).explain())

    assert found == [1, 2, 5]
    assert "storage_key = candidates.storage_key" in explained, explained


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
async def test_a_walk_in_sort_order_tests_each_document_with_one_seek(tmp_path: Path):
    """The queue of one status, newest first: a compound index gives the order and the
    status's entries are tested one seek per document walked, not listed first (that list
    grew with the requests of the status); a few named documents are sorted as they are."""
    settings = Settings(_env_file=None, data_dir=tmp_path, database="walk")
    async with Database(settings, bind_documents=False) as database:
        requests = database.db["requests"]
        await requests.create_index("status", name="status")
        await requests.create_index([("created_at", -1), ("_id", -1)], name="newest")
        many = engine_compat.FEW_ENOUGH_TO_SORT + 10
        start = datetime(2026, 1, 1, tzinfo=UTC)
        await requests.insert_many(
            [
                {
                    "n": n,
                    "status": "rare" if n % 50 == 0 else "open",
                    "created_at": start + timedelta(minutes=n),
                }
                for n in range(many)
            ]
        )

        async def newest(status: str) -> tuple[str, list[int]]:
            query = {"status": status}
            order = [("created_at", -1), ("_id", -1)]
            explained = await requests.find(query).sort(order).limit(3).explain()
            found = await requests.find(query).sort(order).limit(3).to_list()
            return json.dumps(explained["details"]["engine_details"]), [r["n"] for r in found]

        walked, most = await newest("open")
        sorted_few, few = await newest("rare")

    assert "LIST SUBQUERY" not in walked, walked
    assert "TEMP B-TREE" not in walked, walked
    assert "storage_key=?" in walked, walked
    assert most == [many - 1, many - 2, many - 3]
    assert "TEMP B-TREE" in sorted_few, sorted_few
    assert few == [300, 250, 200]


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
async def test_string_equalities_seek_an_index_that_starts_with_their_fields(tmp_path: Path):
    """A queue count (open requests of one kind): the equality and the `$in` on strings
    seek the compound index that starts with their fields, up to the count's limit, rather
    than listing every request of the status first; an array at a field (where equality
    means "an element") keeps the engine's own reading, and the same answers."""
    settings = Settings(_env_file=None, data_dir=tmp_path, database="seek")
    async with Database(settings, bind_documents=False) as database:
        requests = database.db["requests"]
        await requests.create_index("status", name="status")
        await requests.create_index([("kind", 1), ("created_at", -1)], name="kind_newest")
        await requests.insert_many(
            [
                {"kind": kind, "status": status, "created_at": datetime(2026, 1, 1, tzinfo=UTC)}
                for kind in ("callback", "lab_tests")
                for status in ("submitted", "in_progress", "completed")
                for _ in range(3)
            ]
        )
        open_callbacks = {"kind": "callback", "status": {"$in": ["submitted", "in_progress"]}}

        async def count(query: dict[str, Any], limit: int = 0) -> int:
            command: dict[str, Any] = {"count": "requests", "query": query}
            if limit:
                command["limit"] = limit
            return int((await database.db.command(command))["n"])

        async def steps(query: dict[str, Any]) -> str:
            return json.dumps((await requests.find(query).explain())["details"]["engine_details"])

        assert await count(open_callbacks) == 6
        assert await count(open_callbacks, limit=4) == 4
        assert await count({"kind": "dental", "status": "submitted"}) == 0
        seeking = await steps(open_callbacks)
        await requests.insert_one({"kind": ["callback", "dental"], "status": "submitted"})
        assert await count(open_callbacks) == 7
        assert await count({"kind": "dental", "status": "submitted"}) == 1
        reading = await steps(open_callbacks)

    assert "LIST SUBQUERY" not in seeking, seeking  # the compound index, sought
    assert "LIST SUBQUERY" in reading, reading  # the status's entries, listed first


@pytest.mark.skipif(ON_MONGODB, reason="the patch is of the embedded engine")
async def test_a_whole_collections_count_is_kept_through_every_kind_of_write(tmp_path: Path):
    """`totalCount` without a filter reads the count SQLite's triggers keep: right after
    inserts, deletes, a rename and a drop, and for a file that had documents before."""
    settings = Settings(_env_file=None, data_dir=tmp_path, database="sizes")

    async def counts(database: Database, name: str) -> tuple[int, int]:
        kept = (await database.db.command({"count": name, "query": {}}))["n"]
        counted = (await database.db.command({"count": name, "query": {"n": {"$gte": 0}}}))["n"]
        return kept, counted

    async with Database(settings, bind_documents=False) as database:
        items = database.db["items"]
        await items.insert_many([{"n": n} for n in range(10)])
        await items.delete_many({"n": {"$lt": 3}})
        await items.insert_one({"n": 10})
        assert await counts(database, "items") == (8, 8)
        # The wire server renames only within its database; the engine's own client does.
        await database._embedded_client["sizes"]["items"].rename("moved")
        assert await counts(database, "items") == (0, 0)
        assert await counts(database, "moved") == (8, 8)
        await database.db["moved"].drop()
        assert await counts(database, "moved") == (0, 0)
        await database.db["older"].insert_many([{"n": n} for n in range(4)])

    with sqlite3.connect(tmp_path / EMBEDDED_FILE) as connection:  # a file from before
        connection.execute(f"DROP TABLE {engine_compat.SIZES}")
        for name in ("inserted", "deleted", "moved"):
            connection.execute(f"DROP TRIGGER kabinet_size_{name}")
    from mongoeco import AsyncMongoClient as EmbeddedClient
    from mongoeco.engines import SQLiteEngine

    engine = SQLiteEngine(str(tmp_path / EMBEDDED_FILE))  # opened without `Database`
    async with EmbeddedClient(engine) as client:
        assert await client["sizes"]["older"].count_documents({}) == 4
        assert (await client["sizes"].command({"count": "older", "query": {}}))["n"] == 4
    async with Database(settings, bind_documents=False) as database:
        assert await counts(database, "older") == (4, 4)
        await database.db["older"].delete_one({"n": 0})
        assert await counts(database, "older") == (3, 3)
