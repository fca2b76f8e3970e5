"""Writes that hold on a replica set and a sharded cluster (issue 19, items 4, 6 and 7).

They run on the embedded engine (the test fixture's) and, with `KABINET_TEST_MONGODB_URI`,
on that MongoDB.
"""

from typing import Any

from pymongo import WriteConcern

from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import OutboxMessageDocument, OutboxStatus, RequestDocument
from tests.accounts import register
from tests.operations import ADD_COMMENT, CANCEL_REQUEST, CHANGE_STATUS
from tests.policies import staff_token
from tests.requests_support import callback, customer
from tests.support import Api, CommandLog, Mailbox, eventually
from tests.test_privacy import delete

EMAIL = "taras@example.com"


def sent_since(command_log: CommandLog, start: int, *names: str) -> list[dict[str, Any]]:
    return [command for command in command_log.selecting[start:] if next(iter(command)) in names]


async def test_writes_wait_for_a_majority_and_the_embedded_engine_accepts_it(
    api: Api, mailbox: Mailbox, database: Database, settings: Settings, command_log: CommandLog
):
    majority = WriteConcern(w="majority", wtimeout=settings.write_concern_timeout_ms)
    assert database.client.write_concern == majority
    start = len(command_log.selecting)

    assert (await register(api, EMAIL))["__typename"] == "RegisterSuccess"
    await mailbox.wait_for(EMAIL)
    await eventually(lambda: OutboxMessageDocument.find_one({"status": OutboxStatus.SENT.value}))

    writes = sent_since(command_log, start, "update", "findAndModify", "delete")
    assert {next(iter(command)) for command in writes} >= {"update", "findAndModify"}
    assert [command for command in writes if command.get("writeConcern") != majority.document] == []


async def change_status(api: Api, token: str, request_id: str, status: str) -> None:
    changed = await api.data(
        CHANGE_STATUS, {"input": {"requestId": request_id, "status": status}}, token=token
    )
    assert changed["changeRequestStatus"]["status"] == status


async def comment(api: Api, token: str, request_id: str, text: str) -> dict[str, Any]:
    commented = await api.data(
        ADD_COMMENT, {"input": {"requestId": request_id, "text": text}}, token=token
    )
    return commented["addComment"]


async def test_every_write_to_a_request_names_its_owner_so_one_shard_serves_it(
    api: Api, mailbox: Mailbox, command_log: CommandLog
):
    """`requests` is sharded by `{user_id: "hashed"}`: a write that names `user_id` goes to
    one shard on any MongoDB version (one by `_id` alone needs 7.1 or later)."""
    operator = await staff_token(api, "operator@example.com", "operator")
    token = await customer(api, mailbox)
    start = len(command_log.selecting)
    asked, cancelled = await callback(api, token), await callback(api, token)
    await change_status(api, operator, asked["id"], "IN_PROGRESS")
    await change_status(api, operator, asked["id"], "NEEDS_INFO")
    assert (await comment(api, token, asked["id"], "Ось поліс"))["status"] == "IN_PROGRESS"
    assert (await comment(api, operator, asked["id"], "Дякуємо"))["__typename"] == "Request"
    cancel = {"input": {"requestId": cancelled["id"]}}
    assert (await api.data(CANCEL_REQUEST, cancel, token=token))["cancelRequest"]["status"] == (
        "CANCELLED"
    )
    numbers = [asked["number"], cancelled["number"]]
    await eventually(  # both status changes announced
        lambda: RequestDocument.find_one({"number": numbers[0], "unannounced_since": None})
    )
    assert (await delete(api, token))["__typename"] == "Accepted"

    async def both_anonymised() -> bool:
        anonymised = {"number": {"$in": numbers}, "anonymised_at": {"$ne": None}}
        return await RequestDocument.find(anonymised).count() == len(numbers)

    await eventually(both_anonymised)

    filters = [
        where
        for command in command_log.selecting[start:]
        if next(iter(command.values())) == "requests"
        for where in _filters_of_write(command)
    ]
    # 5 findAndModify (2 changes, 2 comments, the cancel), 4 updates announcing the 2
    # changes, 2 anonymising.
    assert len(filters) >= 11, filters
    assert [where for where in filters if "user_id" not in where] == []


def _filters_of_write(command: dict[str, Any]) -> list[dict[str, Any]]:
    name = next(iter(command))
    if name == "findAndModify":
        return [command["query"]]
    return [update["q"] for update in command["updates"]] if name == "update" else []


async def test_the_indexes_the_replica_set_review_asked_for_exist(database: Database):
    """Account deletion finds outbox messages by recipient and files by owner; the queue is
    filtered by status or kind, newest first; a phone is confirmed on one account at once."""
    newest = [("created_at", -1), ("_id", -1)]
    expected: list[tuple[str, list[tuple[str, int]], dict[str, Any]]] = [
        ("outbox", [("recipient", 1)], {}),
        ("fs.files", [("metadata.owner_id", 1)], {}),
        ("requests", [("status", 1), *newest], {}),
        ("requests", [("kind", 1), *newest], {}),
        (
            "contacts",
            [("value", 1)],
            {"unique": True, "partialFilterExpression": {"verified": True, "kind": "phone"}},
        ),
    ]
    for collection, key, options in expected:
        indexes = [index async for index in await database.db[collection].list_indexes()]
        found = [index for index in indexes if list(index["key"].items()) == key]
        assert found, (collection, key, indexes)
        assert {name: found[0].get(name) for name in options} == options
