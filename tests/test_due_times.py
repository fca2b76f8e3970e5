"""Due times and queue counts (issue 16 items 2 and 6): `Request.dueAt` and `overdue`, the
paused clock of NEEDS_INFO, the queue by due time and its overdue filter, the overdue
announcement of several processes, `queueCounts`, and bad settings."""

import asyncio
from datetime import datetime, timedelta

import pytest
from beanie import PydanticObjectId
from pydantic import ValidationError

from kabinet.clock import clock
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import RequestDocument, RequestKind
from kabinet.i18n import Locale
from kabinet.resolvers.requests import due
from kabinet.schema.ids import decode_id
from tests.conftest import served
from tests.operations import ADD_COMMENT, ASSIGN_REQUEST, DUE_QUEUE, QUEUE_COUNTS
from tests.policies import staff_token
from tests.requests_support import callback, change_status, create, customer, window
from tests.subscriptions import next_message, subscribed
from tests.support import Api, CommandLog, Mailbox, api_from
from tests.test_api_guide import operations as guide
from tests.test_assignment import speaking
from tests.test_outcomes import APPOINTMENT, in_two_days

DUE = "query Due($id: ID!) { node(id: $id) { ... on Request { status dueAt overdue } } }"
QUEUE_OVERDUE = """subscription {
  requestQueueUpdated { becameOverdue assigneeChanged request { number status overdue } }
}"""


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def appointment(api: Api, token: str) -> dict:
    return await create(
        api, token, {"doctorAppointment": {"specialty": "Терапевт", "preferredTimes": [window()]}}
    )


async def seen(api: Api, token: str, request_id: str) -> dict:
    return (await api.data(DUE, {"id": request_id}, token=token))["node"]


async def test_the_due_time_follows_the_status_and_needs_info_pauses_the_clock(
    api: Api, mailbox: Mailbox
):
    member = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    filed = await callback(api, member)
    created = at(filed["createdAt"])
    # Filed: the first response is due (a callback: within 30 minutes).
    assert at((await seen(api, operator, filed["id"]))["dueAt"]) == created + timedelta(minutes=30)

    await change_status(api, operator, filed["id"], "IN_PROGRESS")
    outcome_due = created + timedelta(minutes=240)
    assert at((await seen(api, operator, filed["id"]))["dueAt"]) == outcome_due

    await change_status(api, operator, filed["id"], "NEEDS_INFO")
    clock.advance(timedelta(hours=5))  # past the outcome's time, but the member is asked
    assert await seen(api, operator, filed["id"]) == {
        "status": "NEEDS_INFO",
        "dueAt": None,
        "overdue": False,
    }
    answer = {"input": {"requestId": filed["id"], "text": "Ось номер полісу"}}
    assert (await api.data(ADD_COMMENT, answer, token=member))["addComment"]["status"] == (
        "IN_PROGRESS"
    )
    stored = await RequestDocument.get(_id(filed["id"]))
    assert stored is not None
    asked, answered = stored.status_changes()[-2:]
    resumed = await seen(api, operator, filed["id"])
    # The five hours waiting for the member are added back.
    assert at(resumed["dueAt"]) == outcome_due + (answered.at - asked.at)
    assert resumed["overdue"] is False
    assert stored.due_at == stored.overdue_watch_at == at(resumed["dueAt"])

    clock.advance(timedelta(hours=4))
    assert (await seen(api, operator, filed["id"]))["overdue"] is True
    await change_status(api, operator, filed["id"], "REJECTED")
    assert (await seen(api, operator, filed["id"]))["dueAt"] is None


def _id(node_id: str) -> PydanticObjectId | None:
    return decode_id(node_id, "Request")


async def test_the_queue_sorts_by_due_time_and_filters_the_overdue(api: Api, mailbox: Mailbox):
    member = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    working = await appointment(api, member)  # outcome due in a day once in progress
    await change_status(api, operator, working["id"], "IN_PROGRESS")
    later = await appointment(api, member)  # first response due in 60 minutes
    soonest = await callback(api, member)  # in 30 minutes
    asked = await callback(api, member)
    await change_status(api, operator, asked["id"], "IN_PROGRESS")
    await change_status(api, operator, asked["id"], "NEEDS_INFO")  # no due time: left out

    numbers = []
    after = None
    for _ in range(3):
        variables = {"first": 1, "after": after, "orderBy": "DUE_SOONEST"}
        page = (await api.data(DUE_QUEUE, variables, token=operator))["requestQueue"]
        numbers += [edge["node"]["number"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
    assert numbers == [soonest["number"], later["number"], working["number"]]
    assert page["pageInfo"]["hasNextPage"] is False
    assert page["totalCount"] == 3
    newest = (await api.data(DUE_QUEUE, {"first": 10}, token=operator))["requestQueue"]
    assert newest["edges"][0]["node"]["number"] == asked["number"]  # still newest first

    clock.advance(timedelta(minutes=45))
    overdue = {"filter": {"overdue": True}, "orderBy": "DUE_SOONEST"}
    page = (await api.data(DUE_QUEUE, overdue, token=operator))["requestQueue"]
    assert [edge["node"] for edge in page["edges"]] == [
        {
            "number": soonest["number"],
            "kind": "CALLBACK",
            "status": "SUBMITTED",
            "dueAt": page["edges"][0]["node"]["dueAt"],
            "overdue": True,
        }
    ]
    assert page["totalCount"] == 1
    not_asked = {"filter": {"overdue": False}}
    assert (await api.data(DUE_QUEUE, not_asked, token=operator))["requestQueue"]["totalCount"] == 4


async def test_turning_overdue_is_announced_once_by_one_of_two_processes(
    api: Api, mailbox: Mailbox, settings: Settings, database: Database, command_log: CommandLog
):
    member = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    quick = settings.model_copy(update={"overdue_check_seconds": 0.05})
    async with served(quick, database) as first, served(quick, database) as second:
        filed = await callback(api, member)
        async with (
            subscribed(first, operator, QUEUE_OVERDUE) as queue,
            subscribed(second, member, "subscription { requestUpdated { status } }") as mine,
        ):
            clock.advance(timedelta(minutes=31))
            event = (await next_message(queue))["payload"]["data"]["requestQueueUpdated"]
            assert event == {
                "becameOverdue": True,
                "assigneeChanged": False,
                "request": {"number": filed["number"], "status": "SUBMITTED", "overdue": True},
            }
            # Both processes keep looking (twenty times a second each): each looks again
            # three times, finding nothing left to announce.
            looked = len(command_log.commands)
            await command_log.until_rounds(
                "overdue-announcements", ("find", "requests"), since=looked, rounds=3, tasks=2
            )
            # The next event is the operator's change, not a second announcement, and the
            # member heard of the change only.
            await change_status(api, operator, filed["id"], "IN_PROGRESS")
            following = (await next_message(queue))["payload"]["data"]["requestQueueUpdated"]
            assert following["becameOverdue"] is False
            for_member = (await next_message(mine))["payload"]["data"]["requestUpdated"]
            assert for_member == {"status": "IN_PROGRESS"}
    stored = await RequestDocument.get(_id(filed["id"]))
    assert stored is not None
    assert [entry.overdue for entry in stored.history] == [False, True, False]
    assert [entry.status.value for entry in stored.status_changes()] == [
        "submitted",
        "in_progress",
    ]
    # The new due time is announced again once it passes; racing claims mark it once.
    clock.advance(timedelta(hours=5))
    assert sorted(await asyncio.gather(due.announce_overdue(), due.announce_overdue())) in (
        [0, 1],
        [0, 0],  # the session's server took it first
    )
    stored = await RequestDocument.get(_id(filed["id"]))
    assert stored is not None
    assert sum(entry.overdue for entry in stored.history) == 2


@pytest.mark.parametrize("size", [3, 12])
async def test_queue_counts_cost_the_same_commands_for_any_number_of_requests(
    api: Api, mailbox: Mailbox, command_log: CommandLog, size: int
):
    member = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    filed = [await callback(api, member) for _ in range(size)]
    booked = await appointment(api, member)
    await change_status(api, operator, booked["id"], "IN_PROGRESS")
    await change_status(api, operator, filed[0]["id"], "REJECTED")  # closed: not counted
    me = (await api.data("{ me { id } }", token=operator))["me"]["id"]
    taken = {"input": {"requestId": booked["id"], "operatorId": me}}
    await api.data(ASSIGN_REQUEST, taken, token=operator)
    clock.advance(timedelta(minutes=31))  # the callbacks' first response is overdue

    start = len(command_log.commands)
    counts = (await api.data(QUEUE_COUNTS, token=operator))["queueCounts"]
    commands = command_log.during_request(start)

    assert counts == {
        "limit": 1000,
        "byStatus": [
            {"status": "SUBMITTED", "count": size - 1},
            {"status": "IN_PROGRESS", "count": 1},
            {"status": "NEEDS_INFO", "count": 0},
            {"status": "SCHEDULED", "count": 0},
            {"status": "APPROVED", "count": 0},
        ],
        "byKind": [
            {"kind": "DOCTOR_APPOINTMENT", "count": 1},
            {"kind": "MEDICATIONS", "count": 0},
            {"kind": "LAB_TESTS", "count": 0},
            {"kind": "REIMBURSEMENT", "count": 0},
            {"kind": "CALLBACK", "count": size - 1},
        ],
        "overdue": size - 1,
        "assignedToMe": 1,
    }
    # One count per number (5 statuses, 5 kinds, 2 more); besides, only the session (moved
    # forward: the clock was) and its user.
    on_requests = [command for command in commands if command[1] == "requests"]
    assert on_requests == [("count", "requests")] * 12, commands
    assert {collection for _, collection in commands} == {"requests", "sessions", "users"}


async def test_queue_counts_stop_at_their_limit(
    api: Api, mailbox: Mailbox, settings: Settings, database: Database
):
    """A backlog costs a dashboard no more than `KABINET_QUEUE_COUNT_LIMIT` entries a number."""
    member = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    for _ in range(3):
        await callback(api, member)
    clock.advance(timedelta(minutes=31))
    capped = settings.model_copy(update={"queue_count_limit": 2})
    async with served(capped, database) as url, api_from(url, "127.0.0.1") as capped_api:
        counts = (await capped_api.data(QUEUE_COUNTS, token=operator))["queueCounts"]
    exact = (await api.data(QUEUE_COUNTS, token=operator))["queueCounts"]

    assert counts["limit"] == 2
    assert {count["status"]: count["count"] for count in counts["byStatus"]}["SUBMITTED"] == 2
    assert {count["kind"]: count["count"] for count in counts["byKind"]}["CALLBACK"] == 2
    assert counts["overdue"] == 2
    assert {count["status"]: count["count"] for count in exact["byStatus"]}["SUBMITTED"] == 3
    assert exact["overdue"] == 3


async def test_queue_counts_are_for_staff_only(api: Api, mailbox: Mailbox):
    member = await customer(api, mailbox)
    refused = await api.post(QUEUE_COUNTS, token=member)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"due_callback_response_minutes": 0}, "greater than 0"),
        ({"due_reimbursement_outcome_minutes": -5}, "greater than 0"),
        ({"overdue_check_seconds": 0}, "greater than 0"),
        (
            {"due_appointment_response_minutes": 120, "due_appointment_outcome_minutes": 60},
            "KABINET_DUE_APPOINTMENT_OUTCOME_MINUTES \\(60\\) is shorter than "
            "KABINET_DUE_APPOINTMENT_RESPONSE_MINUTES \\(120\\)",
        ),
    ],
)
def test_bad_due_settings_are_refused_at_start(values: dict[str, int], message: str):
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("order", "locale", "message"),
    [
        ("DUE_SOONEST", "en", "This cursor does not belong to this list in this order"),
        ("NEWEST", "uk", "Цей курсор не належить до цього списку"),
    ],
)
async def test_a_cursor_of_another_order_is_refused(
    api: Api, mailbox: Mailbox, order: str, locale: str, message: str
):
    member = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    for _ in range(2):
        await callback(api, member)
    other = "NEWEST" if order == "DUE_SOONEST" else "DUE_SOONEST"
    page = await api.data(DUE_QUEUE, {"first": 1, "orderBy": other}, token=operator)
    cursor = page["requestQueue"]["pageInfo"]["endCursor"]

    variables = {"first": 1, "after": cursor, "orderBy": order}
    await speaking("operator@example.com", Locale(locale))
    refused = await api.post(DUE_QUEUE, variables, token=operator)
    assert refused["data"] is None
    (error,) = refused["errors"]
    assert error["extensions"]["code"] == "INVALID_CURSOR"
    assert error["extensions"]["argument"] == "after"
    assert error["message"].startswith(message)


async def test_requests_filed_before_due_times_get_theirs(
    api: Api, mailbox: Mailbox, settings: Settings
):
    member = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    old, recent, closed = [await callback(api, member) for _ in range(3)]
    await change_status(api, operator, closed["id"], "REJECTED")
    collection = RequestDocument.get_pymongo_collection()
    await collection.update_many({}, {"$unset": {"due_at": "", "overdue_watch_at": ""}})
    # `old` was filed an hour before the others: its first response is overdue already.
    filed_earlier = at(old["createdAt"]) - timedelta(hours=1)
    await collection.update_one({"_id": _id(old["id"])}, {"$set": {"created_at": filed_earlier}})

    assert await due.fill_missing_due_times(settings, batch_size=2) == 3
    assert await due.fill_missing_due_times(settings) == 0
    stored = {
        number: await RequestDocument.get(_id(request["id"]))
        for number, request in (("old", old), ("recent", recent), ("closed", closed))
    }
    due_times = {name: (r.due_at, r.overdue_watch_at) for name, r in stored.items() if r}
    in_half_an_hour = at(recent["createdAt"]) + timedelta(minutes=30)
    assert due_times == {
        "old": (filed_earlier + timedelta(minutes=30), None),  # overdue: not announced
        "recent": (in_half_an_hour, in_half_an_hour),
        "closed": (None, None),
    }


def test_every_kind_has_its_due_settings():
    targets = due.targets(Settings(_env_file=None, due_lab_tests_outcome_minutes=90))  # type: ignore[call-arg]
    assert set(targets) == set(RequestKind)
    assert targets[RequestKind.LAB_TESTS] == due.Target(
        response=timedelta(minutes=60), outcome=timedelta(minutes=90)
    )


async def test_a_re_planned_request_gets_a_whole_outcome_target_from_its_return(
    api: Api, mailbox: Mailbox
):
    member = await customer(api, mailbox)
    operator = await staff_token(api, "operator@example.com", "operator")
    filed = await appointment(api, member)
    await change_status(api, operator, filed["id"], "IN_PROGRESS")
    scheduled = {"requestId": filed["id"], "at": in_two_days(), "appointment": APPOINTMENT}
    await api.data(guide()["ScheduleAppointment"], scheduled, token=operator)
    clock.advance(timedelta(days=2))  # the visit fell through, past the first day's target

    await change_status(api, operator, filed["id"], "IN_PROGRESS")

    stored = await RequestDocument.get(_id(filed["id"]))
    assert stored is not None
    returned = stored.status_changes()[-1]
    again = await seen(api, operator, filed["id"])
    assert at(again["dueAt"]) == returned.at + timedelta(minutes=1440)
    assert again["overdue"] is False
