"""`Request.availableActions` (issue 16 item 5): what the caller may do now, derived from
the lifecycle table and the permission rules, for a member and an operator at several
statuses; what it lists is accepted, and a move it leaves out is refused."""

from tests.operations import ADD_COMMENT, ASSIGN_REQUEST
from tests.requests_support import callback, change_status, create, window
from tests.support import Api
from tests.test_outcomes import APPOINTMENT, in_two_days

ACTIONS = """
query Actions($id: ID!) {
  node(id: $id) { ... on Request { availableActions { action status requiredFields } } }
}
"""
COMMENT = ("COMMENT", None, ())
TAKE = ("TAKE", None, ())


async def actions(api: Api, token: str, request_id: str) -> set[tuple[str, str | None, tuple]]:
    node = (await api.data(ACTIONS, {"id": request_id}, token=token))["node"]
    return {
        (each["action"], each["status"], tuple(each["requiredFields"]))
        for each in node["availableActions"]
    }


async def test_a_new_request_can_be_cancelled_by_its_member_and_taken_up_by_staff(
    api: Api, member: str, operator: str
):
    request_id = (await callback(api, member))["id"]

    assert await actions(api, member, request_id) == {("CANCEL", "CANCELLED", ()), COMMENT}
    assert await actions(api, operator, request_id) == {
        ("CHANGE_STATUS", "IN_PROGRESS", ()),
        ("CHANGE_STATUS", "REJECTED", ()),
        COMMENT,
        TAKE,
        ("RECORD_CALL_ATTEMPT", None, ()),
    }


async def test_an_appointment_in_progress_lists_what_scheduling_needs(
    api: Api, member: str, operator: str
):
    filed = await create(
        api, member, {"doctorAppointment": {"specialty": "Терапевт", "preferredTimes": [window()]}}
    )
    await change_status(api, operator, filed["id"], "IN_PROGRESS")

    listed = await actions(api, operator, filed["id"])

    scheduling = ("CHANGE_STATUS", "SCHEDULED", ("scheduledAt", "outcome.appointment"))
    assert listed == {
        ("CHANGE_STATUS", "NEEDS_INFO", ()),
        scheduling,
        ("CHANGE_STATUS", "APPROVED", ()),
        ("CHANGE_STATUS", "REJECTED", ()),
        COMMENT,
        TAKE,
    }
    assert await actions(api, member, filed["id"]) == {("CANCEL", "CANCELLED", ()), COMMENT}
    # What it lists, sent with the fields it names, is accepted.
    scheduled = await change_status(
        api,
        operator,
        filed["id"],
        "SCHEDULED",
        scheduledAt=in_two_days(),
        outcome={"appointment": APPOINTMENT},
    )
    assert scheduled["status"] == "SCHEDULED"


async def test_staff_who_took_a_request_may_release_it_and_nobody_moves_a_closed_one(
    api: Api, member: str, operator: str
):
    request_id = (await callback(api, member))["id"]
    me = (await api.data("query { me { id } }", token=operator))["me"]["id"]
    taken = {"input": {"requestId": request_id, "operatorId": me}}
    await api.data(ASSIGN_REQUEST, taken, token=operator)
    await change_status(api, operator, request_id, "REJECTED")

    assert await actions(api, operator, request_id) == {("RELEASE", None, ())}
    assert await actions(api, member, request_id) == set()
    # A move it leaves out is refused, a comment too.
    assert (await change_status(api, operator, request_id, "IN_PROGRESS"))["code"] == (
        "TRANSITION_NOT_ALLOWED"
    )
    commented = await api.data(
        ADD_COMMENT, {"input": {"requestId": request_id, "text": "Ще питання"}}, token=member
    )
    assert commented["addComment"]["code"] == "REQUEST_CLOSED"
