"""Due times (issue 16 item 2): each kind's targets to the first response and to the
outcome, the due time that applies now, and announcing a request turning overdue.

A request is due for its first response while SUBMITTED (from filing), then for its
outcome while IN_PROGRESS (from filing, or from its return to IN_PROGRESS when an
outcome fell through, e.g. a re-planned appointment; plus the time it waited in
NEEDS_INFO for its member since); NEEDS_INFO, an outcome (SCHEDULED, APPROVED) and a
closed request have no due time. Times are elapsed time: the contact centre works around
the clock. The due time is stored (`RequestDocument.due_at`) by the update that changes
the status, so the queue sorts and filters by it through an index; a change of the
settings applies to the status changes after it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from beanie import UpdateResponse
from beanie.operators import Inc, Push, Set

from kabinet.clock import aware, now
from kabinet.config import Settings
from kabinet.documents import RequestDocument, RequestKind, RequestStatus
from kabinet.documents.request import StatusChange, one_request
from kabinet.periodic import repeat

# The kinds' names in the settings (`KABINET_DUE_<NAME>_RESPONSE_MINUTES`).
SETTING_NAMES = {
    RequestKind.CALLBACK: "callback",
    RequestKind.DOCTOR_APPOINTMENT: "appointment",
    RequestKind.MEDICATIONS: "medications",
    RequestKind.LAB_TESTS: "lab_tests",
    RequestKind.REIMBURSEMENT: "reimbursement",
}


# Statuses that are an outcome reached; a request sent back to IN_PROGRESS from one of
# them is planned again.
OUTCOME_STATUSES = frozenset({RequestStatus.SCHEDULED, RequestStatus.APPROVED})


@dataclass(frozen=True, slots=True)
class Target:
    response: timedelta
    outcome: timedelta


type Targets = dict[RequestKind, Target]


def targets(settings: Settings) -> Targets:
    """Each kind's targets, from its `KABINET_DUE_*` settings."""
    return {
        kind: Target(
            response=timedelta(minutes=getattr(settings, f"due_{name}_response_minutes")),
            outcome=timedelta(minutes=getattr(settings, f"due_{name}_outcome_minutes")),
        )
        for kind, name in SETTING_NAMES.items()
    }


def due_at(
    kind: RequestKind, created_at: datetime, changes: list[StatusChange], targets: Targets
) -> datetime | None:
    """When the target that applies after ``changes`` (status entries, oldest first) falls
    due; None when none does."""
    status = changes[-1].status
    if status is RequestStatus.SUBMITTED:
        return created_at + targets[kind].response
    if status is not RequestStatus.IN_PROGRESS:
        return None
    reached = [n for n, change in enumerate(changes) if change.status in OUTCOME_STATUSES]
    if not reached:
        return created_at + targets[kind].outcome + _paused(changes)
    # An outcome undone (the visit fell through): a whole outcome target from the return.
    since = changes[reached[-1] + 1 :]
    return since[0].at + targets[kind].outcome + _paused(since)


def _paused(changes: list[StatusChange]) -> timedelta:
    """How long the request waited in NEEDS_INFO for its member (until the next status)."""
    return sum(
        (
            following.at - change.at
            for change, following in pairwise(changes)
            if change.status is RequestStatus.NEEDS_INFO
        ),
        timedelta(0),
    )


def due_fields(
    request: RequestDocument, entry: StatusChange, targets: Targets
) -> dict[str, datetime | None]:
    """What to `$set` with the status entry ``entry`` about to be pushed to ``request``:
    its new due time, to be announced once it passes."""
    due = due_at(request.kind, request.created_at, [*request.status_changes(), entry], targets)
    return {"due_at": due, "overdue_watch_at": due}


def overdue(due_at: datetime | None) -> bool:
    return due_at is not None and aware(due_at) <= now()


def passed(moment: datetime) -> dict[str, object]:
    """A filter on a due time already passed at ``moment``; it names the partial indexes'
    condition (`$type: date`) so that MongoDB may use them."""
    return {"$type": "date", "$lte": moment}


async def announce_overdue() -> int:
    """Mark each request whose due time passed and was not announced with an overdue history
    entry (an event on `requestQueueUpdated`); how many were marked. Each is claimed by one
    atomic update conditional on the due time read, so of several processes one marks it,
    and a status change meanwhile (a new due time) leaves it unmarked."""
    moment = now()
    marked = 0
    async for request in RequestDocument.find({"overdue_watch_at": passed(moment)}):
        entry = StatusChange(status=request.status, at=moment, by_operator=False, overdue=True)
        claimed = await RequestDocument.find_one(
            {
                **one_request(request.id, request.user_id),
                "overdue_watch_at": request.overdue_watch_at,
            }
        ).update(
            Set({"overdue_watch_at": None, "updated_at": moment}),
            Push({"history": entry}),
            Inc({"version": 1}),
            response_type=UpdateResponse.NEW_DOCUMENT,
        )
        marked += claimed is not None
    return marked


async def keep_announcing_overdue(settings: Settings) -> None:
    """The background task every process runs: at once, then every
    `KABINET_OVERDUE_CHECK_SECONDS`."""
    await repeat(
        announce_overdue,
        timedelta(seconds=settings.overdue_check_seconds),
        what="announcing overdue requests",
    )


async def fill_missing_due_times(settings: Settings, batch_size: int = 500) -> int:
    """Give the requests filed before due times existed theirs, ``batch_size`` at a time;
    how many were filled. Those already past it are not announced (an upgrade would
    announce the whole backlog at once); the overdue filter shows them. Idempotent, and a
    request changed meanwhile (its status change wrote its due time) is left as it is."""
    collection = RequestDocument.get_pymongo_collection()
    missing = {"due_at": {"$exists": False}}
    kinds = targets(settings)
    moment = now()
    filled = 0
    while requests := await RequestDocument.find(missing).limit(batch_size).to_list():
        for request in requests:
            due = due_at(request.kind, request.created_at, request.status_changes(), kinds)
            watch = due if due is not None and aware(due) > moment else None
            await collection.update_one(
                {**one_request(request.id, request.user_id), **missing},
                {"$set": {"due_at": due, "overdue_watch_at": watch}},
            )
        filled += len(requests)
    return filled
