"""A request's lifecycle (guide section 4): status changes, cancelling, comments (internal
notes among them) and who handles it (assignment).

The lifecycle is one table, `TRANSITIONS`, enforced in `_transition`. Each change
is a single atomic update of the status, the history entry and a version number,
conditional on the version read, so two operators cannot overwrite each other.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from beanie import PydanticObjectId, UpdateResponse
from beanie.operators import Inc, Push, Set

from kabinet import faults
from kabinet.auth import rate_limit
from kabinet.auth.context import Caller
from kabinet.auth.sessions import live_account
from kabinet.clock import now
from kabinet.config import Fault
from kabinet.documents import (
    AuditAction,
    RequestDocument,
    RequestKind,
    RequestStatus,
    Role,
    UserDocument,
)
from kabinet.documents.request import (
    Assignment,
    CallAttempt,
    CallbackOutcome,
    CallResult,
    Comment,
    LabTestsOutcome,
    Outcome,
    OutcomeNews,
    Payout,
    PayoutStatus,
    PendingNews,
    ReimbursementOutcome,
    StatusChange,
    one_request,
)
from kabinet.i18n import Term
from kabinet.labels import STATUS_LABELS
from kabinet.resolvers import audit, coverage, files, notifications
from kabinet.resolvers.errors import (
    AssignmentConflict,
    ErrorCode,
    FieldErrorCode,
    FieldProblem,
    InvalidInput,
    NotAllowed,
    NotFound,
    RateLimited,
)
from kabinet.resolvers.files import IncomingFile
from kabinet.resolvers.requests import due
from kabinet.resolvers.requests.outcomes import (
    OutcomeForm,
    checked_outcome,
    keeping_results,
    named_provider,
    required_fields,
)
from kabinet.resolvers.requests.reading import find_request
from kabinet.resolvers.validation import Checked
from kabinet.services import Services

MAX_COMMENTS = 100
MAX_CALL_ATTEMPTS = 50
MAX_RESULTS = 20
WRITE_ATTEMPTS = 3
# A comment is the member's own text: worth more attempts than a status change.
COMMENT_ATTEMPTS = 10
CLOSED = frozenset({RequestStatus.COMPLETED, RequestStatus.REJECTED, RequestStatus.CANCELLED})


class Actor(StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"


S = RequestStatus
K = RequestKind
# The lifecycle: from -> {to: who may make the change}.
TRANSITIONS: dict[RequestStatus, dict[RequestStatus, Actor]] = {
    S.SUBMITTED: {
        S.IN_PROGRESS: Actor.OPERATOR,
        S.REJECTED: Actor.OPERATOR,
        S.CANCELLED: Actor.CUSTOMER,
    },
    S.IN_PROGRESS: {
        S.NEEDS_INFO: Actor.OPERATOR,
        S.SCHEDULED: Actor.OPERATOR,
        S.APPROVED: Actor.OPERATOR,
        S.REJECTED: Actor.OPERATOR,
        S.CANCELLED: Actor.CUSTOMER,
    },
    S.NEEDS_INFO: {
        S.IN_PROGRESS: Actor.OPERATOR,
        S.REJECTED: Actor.OPERATOR,
        S.CANCELLED: Actor.CUSTOMER,
    },
    S.SCHEDULED: {
        S.COMPLETED: Actor.OPERATOR,
        S.IN_PROGRESS: Actor.OPERATOR,
        S.CANCELLED: Actor.CUSTOMER,
    },
    S.APPROVED: {S.COMPLETED: Actor.OPERATOR},
}


class Action(StrEnum):
    """What a caller can do to a request (`Request.availableActions`)."""

    CHANGE_STATUS = "change_status"
    CANCEL = "cancel"
    COMMENT = "comment"
    TAKE = "take"
    RELEASE = "release"
    RECORD_CALL_ATTEMPT = "record_call_attempt"
    UPLOAD_LAB_RESULTS = "upload_lab_results"
    RECORD_PAYOUT = "record_payout"


# The mutation each actor moves a request along the lifecycle with.
_MOVED_WITH = {Actor.OPERATOR: Action.CHANGE_STATUS, Actor.CUSTOMER: Action.CANCEL}


@dataclass(frozen=True, slots=True)
class AvailableAction:
    action: Action
    status: RequestStatus | None = None  # the status it leads to, for lifecycle moves
    required_fields: tuple[str, ...] = ()


def available_actions(request: RequestDocument, user: UserDocument) -> list[AvailableAction]:
    """What ``user`` may do to ``request`` now, from the rules the mutations enforce:
    `TRANSITIONS` (with `outcomes.required_fields`), `_refuses_comments` and
    `_refuses_assignment`."""
    actors = {Actor.OPERATOR} if user.is_staff else set()
    if request.user_id == user.id:
        actors.add(Actor.CUSTOMER)
    actions = [
        AvailableAction(
            _MOVED_WITH[actor],
            status,
            tuple(required_fields(request.kind, status)) if actor is Actor.OPERATOR else (),
        )
        for status, actor in TRANSITIONS.get(request.status, {}).items()
        if actor in actors
    ]
    if _refuses_comments(request) is None:
        actions.append(AvailableAction(Action.COMMENT))
    if user.is_staff and request.kind is K.CALLBACK and _refuses_outcome(request) is None:
        actions.append(AvailableAction(Action.RECORD_CALL_ATTEMPT))
    if user.is_staff and request.kind is K.LAB_TESTS and _refuses_outcome(request) is None:
        actions.append(AvailableAction(Action.UPLOAD_LAB_RESULTS))
    if user.is_staff and request.status is S.APPROVED and request.kind is K.REIMBURSEMENT:
        actions.append(AvailableAction(Action.RECORD_PAYOUT))
    if user.is_staff:
        if request.assignee_id != user.id and _refuses_assignment(request, user, user.id) is None:
            actions.append(AvailableAction(Action.TAKE))
        if request.assignee_id is not None and _refuses_assignment(request, user, None) is None:
            actions.append(AvailableAction(Action.RELEASE))
    return actions


def status_label(request: RequestDocument) -> Term:
    """The request's status as a person reads it, in the message's language."""
    return Term(STATUS_LABELS[request.status])


async def change_status(
    *,
    services: Services,
    caller: Caller,
    user: UserDocument,
    request_id: PydanticObjectId,
    status: RequestStatus,
    comment: str | None,
    scheduled_at: datetime | None,
    outcome: OutcomeForm | None = None,
) -> RequestDocument | NotFound | NotAllowed | InvalidInput:
    """An operator moves a request along the lifecycle, with the outcome the change needs
    (`outcomes.required_fields`) written by the same update; audited."""
    request = await find_request(user, request_id)
    if request is None:
        return NotFound()
    checked = Checked()
    text = checked.text(comment, "comment", max_length=2000, required=False)
    provider = await named_provider(checked, request, outcome)
    arranged = checked_outcome(checked, request, status, outcome, scheduled_at, provider)
    if checked.problems:
        return InvalidInput(checked.problems)
    targets = due.targets(services.settings)
    changed = await _transition(
        request, status, Actor.OPERATOR, user, text, scheduled_at, targets, arranged
    )
    if isinstance(changed, RequestDocument):
        faults.crash_at(services.settings, Fault.AFTER_STATUS_UPDATE)
        after: dict[str, object] = {"status": status.value}
        if arranged is not None:
            after["outcome"] = arranged.kind.value
        await _audit_staff_action(
            caller,
            AuditAction.REQUEST_STATUS_CHANGED,
            changed,
            before={"status": request.status.value},
            after=after,
        )
        await notifications.announce_pending(services, changed)
    return changed


async def cancel_request(
    *, services: Services, user: UserDocument, request_id: PydanticObjectId, reason: str | None
) -> RequestDocument | NotFound | NotAllowed | InvalidInput:
    """The owner cancels before the work is done; anyone else's request is not found."""
    request = await find_request(user, request_id)
    if request is None or request.user_id != user.id:
        return NotFound()
    checked = Checked()
    text = checked.text(reason, "reason", max_length=2000, required=False)
    if checked.problems:
        return InvalidInput(checked.problems)
    targets = due.targets(services.settings)
    return await _transition(request, S.CANCELLED, Actor.CUSTOMER, user, text, None, targets)


def _not_allowed(request: RequestDocument) -> NotAllowed:
    return NotAllowed(
        ErrorCode.TRANSITION_NOT_ALLOWED,
        "error.transition_not_allowed",
        {"status": status_label(request)},
    )


async def _transition(
    request: RequestDocument,
    status: RequestStatus,
    actor: Actor,
    user: UserDocument,
    comment: str | None,
    scheduled_at: datetime | None,
    targets: due.Targets,
    outcome: Outcome | None = None,
) -> RequestDocument | NotAllowed | NotFound:
    """The one place the lifecycle table is enforced; one atomic, version-guarded update.
    A conflict is read again: a comment written meanwhile leaves the transition allowed,
    another status change may not."""

    async def attempt(current: RequestDocument) -> RequestDocument | NotAllowed | None:
        if TRANSITIONS.get(current.status, {}).get(status) is not actor:
            return _not_allowed(current)
        return await _try_transition(
            current, status, actor, user, comment, scheduled_at, targets, outcome
        )

    return await _until_written(user, request, attempt)


async def _try_transition(
    request: RequestDocument,
    status: RequestStatus,
    actor: Actor,
    user: UserDocument,
    comment: str | None,
    scheduled_at: datetime | None,
    targets: due.Targets,
    outcome: Outcome | None,
) -> RequestDocument | None:
    moment = now()
    changes: dict[str, object] = {"status": status, "updated_at": moment}
    if scheduled_at is not None and hasattr(request.details, "scheduled_at"):
        changes["details.scheduled_at"] = scheduled_at
    stored = request.outcome
    if outcome is not None:
        stored = changes["outcome"] = keeping_results(outcome, request.outcome)
    # What the decision consumes (or gives back) is written with it: one update.
    changes["usage"] = coverage.consumed(request, status, stored, moment)
    entry = StatusChange(
        status=status,
        at=moment,
        comment=comment,
        by_operator=actor is Actor.OPERATOR,
        actor_id=user.id,
    )
    changes |= due.due_fields(request, entry, targets)
    pushes: dict[str, object] = {"history": entry}
    if actor is Actor.OPERATOR:  # announced to the owner: recorded in the same atomic update
        pushes["unannounced"] = entry.id
        changes["unannounced_since"] = moment
    return await _update_unless_changed(request, changes, pushes)


async def _until_written[R](
    reader: UserDocument,
    request: RequestDocument,
    attempt: Callable[[RequestDocument], Awaitable[R | None]],
    attempts: int = WRITE_ATTEMPTS,
) -> R | NotFound:
    """``attempt`` on ``request`` until it answers: it decides on the request as read and
    writes only if nobody changed it since (`_update_unless_changed`); None means somebody
    did, so the request is read again, as ``reader`` may read it (`find_request`, as the
    first read), and ``attempt`` decides anew on what is stored."""
    for _ in range(attempts):
        answer = await attempt(request)
        if answer is not None:
            return answer
        current = await find_request(reader, request.id)  # type: ignore[arg-type]
        if current is None:
            return NotFound()
        request = current
    raise RequestKeptChanging(request.id)


async def _update_unless_changed(
    request: RequestDocument, changes: dict[str, object], pushes: dict[str, object]
) -> RequestDocument | None:
    """One atomic update of ``request`` (its `version` incremented), written only if
    nobody changed it since it was read; None when somebody did."""
    operations = [Set(changes), Inc({"version": 1})]
    if pushes:
        operations.append(Push(pushes))
    return await RequestDocument.find_one(  # type: ignore[return-value]
        {**one_request(request.id, request.user_id), "version": request.version}
    ).update(*operations, response_type=UpdateResponse.NEW_DOCUMENT)


async def add_comment(
    *,
    services: Services,
    caller: Caller,
    user: UserDocument,
    request_id: PydanticObjectId,
    text: str,
    attachments: list[IncomingFile],
    internal: bool = False,
) -> RequestDocument | NotFound | NotAllowed | InvalidInput | RateLimited:
    """A message on a request; the owner's answer moves NEEDS_INFO back to IN_PROGRESS.
    A request holds at most MAX_COMMENTS, so reading one stays bounded. An ``internal``
    note is staff's: its owner never sees it (`RequestDocument.comments_for`)."""
    request = await find_request(user, request_id)
    if request is None:
        return NotFound()
    if internal and not user.is_staff:
        return InvalidInput([FieldProblem("internal", FieldErrorCode.STAFF_ONLY)])
    if refused := _refuses_comments(request):
        return refused
    # Staff answer many people; the limit is for an account writing to its own requests.
    if not user.is_staff and (
        exceeded := await services.rate_limits.hit(rate_limit.COMMENTS_PER_ACCOUNT, str(user.id))
    ):
        return RateLimited(exceeded.retry_after_seconds)
    checked = Checked()
    cleaned = checked.text(text, "text", max_length=2000, required=not attachments)
    checked.problems.extend(files.file_problems(attachments, "attachments", required=False))
    if checked.problems:
        return InvalidInput(checked.problems)
    stored = await files.store(
        attachments,
        owner_id=request.user_id,
        request_id=request.id,  # type: ignore[arg-type]
        internal=internal,
    )
    moment = now()
    by_operator = user.is_staff
    comment = Comment(
        text=cleaned or "",
        at=moment,
        by_operator=by_operator,
        actor_id=user.id,
        attachments=stored,
        internal=internal,
    )
    answer = StatusChange(
        status=S.IN_PROGRESS, at=moment, comment=cleaned, by_operator=False, actor_id=user.id
    )
    try:
        targets = due.targets(services.settings)
        outcome = await _append_comment(user, request, comment, answer, targets)
    except BaseException:
        await files.delete(stored)
        raise
    if not isinstance(outcome, RequestDocument):
        await files.delete(stored)
        return outcome
    if by_operator:  # staff writing to a person is a staff action
        await _audit_staff_action(
            caller,
            AuditAction.REQUEST_COMMENTED,
            outcome,
            after={"attachments": len(stored), "internal": internal},
        )
    return outcome


async def _append_comment(
    user: UserDocument,
    request: RequestDocument,
    comment: Comment,
    answer: StatusChange,
    targets: due.Targets,
) -> RequestDocument | NotFound | NotAllowed:
    """Add ``comment`` to an open request with room for it; the owner's comment also
    answers a NEEDS_INFO request (``answer``). Each attempt writes only if nobody changed
    the request since it was read (its `version`), so both are decided on what is stored;
    after a concurrent change it reads the request again and retries."""

    async def attempt(current: RequestDocument) -> RequestDocument | NotAllowed | None:
        if refused := _refuses_comments(current):
            return refused
        changes: dict[str, object] = {"updated_at": comment.at}
        pushes: dict[str, object] = {"comments": comment}
        if not comment.by_operator and current.status is S.NEEDS_INFO:
            changes["status"] = S.IN_PROGRESS
            changes |= due.due_fields(current, answer, targets)  # the clock runs again
            pushes["history"] = answer
        return await _update_unless_changed(current, changes, pushes)

    return await _until_written(user, request, attempt, COMMENT_ATTEMPTS)


async def assign_request(
    *,
    caller: Caller,
    user: UserDocument,
    request_id: PydanticObjectId,
    assignee_id: PydanticObjectId | None,
) -> RequestDocument | NotFound | NotAllowed | InvalidInput | AssignmentConflict:
    """Staff: who handles a request. An operator takes an unassigned request for themselves
    or releases their own (``assignee_id`` None); an administrator assigns, reassigns or
    releases any. Audited; subscribers see it as an event (`StatusChange.assignment`)."""
    request = await find_request(user, request_id)
    if request is None:
        return NotFound()
    if assignee_id is not None:
        assignee = await UserDocument.get(assignee_id)
        if assignee is None or not assignee.is_staff or not live_account(assignee):
            return InvalidInput([FieldProblem("operatorId", FieldErrorCode.ASSIGNEE_NOT_STAFF)])
    read_assignee = request.assignee_id

    async def attempt(
        current: RequestDocument,
    ) -> RequestDocument | NotAllowed | AssignmentConflict | None:
        if current.assignee_id != read_assignee:
            return AssignmentConflict()  # someone else assigned it since we read it
        if refused := _refuses_assignment(current, user, assignee_id):
            return refused
        if current.assignee_id == assignee_id:
            return current  # already so: nothing to write or audit
        updated = await _try_assign(current, user, assignee_id)
        if updated is not None:
            await _audit_staff_action(
                caller,
                AuditAction.REQUEST_ASSIGNED,
                updated,
                before={"assignee": _id_or_none(read_assignee)},
                after={"assignee": _id_or_none(assignee_id)},
            )
        return updated  # None: changed otherwise (a comment, a status), so try again

    return await _until_written(user, request, attempt)


def _refuses_assignment(
    request: RequestDocument, user: UserDocument, assignee_id: PydanticObjectId | None
) -> NotAllowed | AssignmentConflict | None:
    """Why ``user`` may not give ``request`` to ``assignee_id``: an operator acts only for
    themselves, and a request someone else holds is theirs (a conflict when taking it)."""
    if user.role is Role.ADMIN:
        return None
    if assignee_id is not None and assignee_id != user.id:
        return NotAllowed(ErrorCode.ASSIGNMENT_NOT_ALLOWED, "error.assign_only_yourself")
    if request.assignee_id in (None, user.id):
        return None
    if assignee_id is None:
        return NotAllowed(ErrorCode.ASSIGNMENT_NOT_ALLOWED, "error.release_only_yours")
    return AssignmentConflict()


async def _try_assign(
    request: RequestDocument, user: UserDocument, assignee_id: PydanticObjectId | None
) -> RequestDocument | None:
    """One atomic update, only if nothing changed since ``request`` was read (its version,
    so its assignee too): of two operators taking it at once, one writes. The history entry
    keeps the status and makes the change an event for subscribers."""
    moment = now()
    entry = StatusChange(
        status=request.status,
        at=moment,
        by_operator=True,
        actor_id=user.id,
        assignment=Assignment(assignee_id=assignee_id),
    )
    return await _update_unless_changed(
        request, {"assignee_id": assignee_id, "updated_at": moment}, {"history": entry}
    )


async def record_call_attempt(
    *,
    caller: Caller,
    user: UserDocument,
    request_id: PydanticObjectId,
    result: CallResult,
    next_attempt_at: datetime | None,
) -> RequestDocument | NotFound | NotAllowed | InvalidInput:
    """Staff: how a call for a callback request went, and when the next one is planned
    (None: none planned); appended to its outcome by one version-guarded update; audited."""
    checked = Checked()
    request = await _request_of_kind(user, request_id, K.CALLBACK, checked)
    if request is None:
        return NotFound()
    if next_attempt_at is not None and next_attempt_at <= now():
        checked.fail("nextAttemptAt", FieldErrorCode.TIME_NOT_IN_FUTURE)
    if checked.problems:
        return InvalidInput(checked.problems)
    attempt = CallAttempt(at=now(), result=result, actor_id=user.id)

    def with_attempt(current: RequestDocument) -> CallbackOutcome | InvalidInput:
        stored = current.outcome
        outcome = stored if isinstance(stored, CallbackOutcome) else CallbackOutcome()
        if len(outcome.attempts) >= MAX_CALL_ATTEMPTS:
            limit = {"max_items": MAX_CALL_ATTEMPTS}
            return InvalidInput([FieldProblem("requestId", FieldErrorCode.TOO_MANY_ITEMS, limit)])
        return CallbackOutcome(
            attempts=[*outcome.attempts, attempt], next_attempt_at=next_attempt_at
        )

    updated = await _write_outcome(user, request, with_attempt)
    if isinstance(updated, RequestDocument):
        await _audit_staff_action(
            caller,
            AuditAction.REQUEST_OUTCOME_RECORDED,
            updated,
            after={"call_attempt": result.value},
        )
    return updated


async def _request_of_kind(
    user: UserDocument, request_id: PydanticObjectId, kind: RequestKind, checked: Checked
) -> RequestDocument | None:
    """The request ``user`` may read, for an outcome of ``kind``: one of another kind is
    a problem in ``checked``."""
    request = await find_request(user, request_id)
    if request is not None and request.kind is not kind:
        checked.fail("requestId", FieldErrorCode.OUTCOME_KIND_MISMATCH)
    return request


async def upload_lab_results(
    *,
    services: Services,
    caller: Caller,
    user: UserDocument,
    request_id: PydanticObjectId,
    results: list[IncomingFile],
) -> RequestDocument | NotFound | NotAllowed | InvalidInput:
    """Staff: a lab tests request's results (PDF, JPEG, PNG), stored as the owner's files
    and added to its outcome by one version-guarded update; the owner is told they are
    ready (recorded as pending news by the same update). Audited."""
    checked = Checked()
    request = await _request_of_kind(user, request_id, K.LAB_TESTS, checked)
    if request is None:
        return NotFound()
    checked.problems.extend(
        files.file_problems(results, "files", required=True, types=files.DOCUMENT_TYPES)
    )
    if checked.problems:
        return InvalidInput(checked.problems)
    if refused := _refuses_outcome(request):
        return refused
    stored = await files.store(results, owner_id=request.user_id, request_id=request.id)  # type: ignore[arg-type]

    def with_results(current: RequestDocument) -> LabTestsOutcome | InvalidInput:
        kept = current.outcome if isinstance(current.outcome, LabTestsOutcome) else None
        outcome = kept or LabTestsOutcome()
        if len(outcome.results) + len(stored) > MAX_RESULTS:
            limit = {"max_files": MAX_RESULTS}
            return InvalidInput([FieldProblem("files", FieldErrorCode.TOO_MANY_FILES, limit)])
        return outcome.model_copy(
            update={"results": [*outcome.results, *stored], "results_ready_at": now()}
        )

    news = PendingNews(key=f"results:{stored[0].id}", news=OutcomeNews.RESULTS_READY)
    try:
        updated = await _write_outcome(user, request, with_results, news)
    except BaseException:
        await files.delete(stored)
        raise
    if not isinstance(updated, RequestDocument):
        await files.delete(stored)
        return updated
    await _audit_staff_action(
        caller, AuditAction.REQUEST_OUTCOME_RECORDED, updated, after={"results": len(stored)}
    )
    await notifications.announce_pending(services, updated)
    return updated


@dataclass(frozen=True, slots=True)
class PayoutForm:
    status: PayoutStatus
    amount: str
    paid_on: date | None = None
    reference: str | None = None


async def record_payout(
    *,
    services: Services,
    caller: Caller,
    user: UserDocument,
    request_id: PydanticObjectId,
    form: PayoutForm,
) -> RequestDocument | NotFound | NotAllowed | InvalidInput:
    """Staff: the payout of an approved reimbursement (PENDING, or PAID with its date and
    reference), at most the approved amount; written by one version-guarded update of the
    outcome. The owner is told once when it is PAID. Audited."""
    checked = Checked()
    request = await _request_of_kind(user, request_id, K.REIMBURSEMENT, checked)
    if request is None:
        return NotFound()
    if checked.problems:
        return InvalidInput(checked.problems)

    def with_payout(current: RequestDocument) -> ReimbursementOutcome | InvalidInput:
        decision = current.outcome
        if not isinstance(decision, ReimbursementOutcome) or Decimal(decision.approved_amount) <= 0:
            return InvalidInput([FieldProblem("requestId", FieldErrorCode.DECISION_REQUIRED)])
        checked = Checked()
        maximum = Decimal(decision.approved_amount)
        amount = checked.amount(
            form.amount, "amount", maximum=maximum, above=FieldErrorCode.AMOUNT_ABOVE_MAXIMUM
        )
        paid = form.status is PayoutStatus.PAID
        reference = checked.text(form.reference, "reference", max_length=100, required=paid)
        if paid and form.paid_on is None:
            checked.fail("paidOn", FieldErrorCode.REQUIRED)
        elif form.paid_on is not None and form.paid_on > now().date():
            checked.fail("paidOn", FieldErrorCode.DATE_INVALID)
        if checked.problems or amount is None:
            return InvalidInput(checked.problems)
        payout = Payout(
            status=form.status, amount=amount, paid_on=form.paid_on, reference=reference
        )
        return decision.model_copy(update={"payout": payout})

    paid = form.status is PayoutStatus.PAID  # told once, however often it is recorded
    news = PendingNews(key=f"payout:{request.id}", news=OutcomeNews.PAYOUT_PAID) if paid else None
    updated = await _write_outcome(user, request, with_payout, news)
    if isinstance(updated, RequestDocument):
        await _audit_staff_action(
            caller,
            AuditAction.REQUEST_OUTCOME_RECORDED,
            updated,
            after={"payout": form.status.value},
        )
        await notifications.announce_pending(services, updated)
    return updated


async def _write_outcome(
    user: UserDocument,
    request: RequestDocument,
    build: Callable[[RequestDocument], Outcome | InvalidInput],
    news: PendingNews | None = None,
) -> RequestDocument | NotFound | NotAllowed | InvalidInput:
    """Replace an open request's outcome with ``build(request)``: one update, conditional
    on the version read, retried on what is stored after a concurrent change. ``news`` for
    the owner is recorded as pending by the same update (`notifications.announce_pending`
    tells it, or the sweeper after a crash)."""

    async def attempt(
        current: RequestDocument,
    ) -> RequestDocument | NotAllowed | InvalidInput | None:
        if refused := _refuses_outcome(current):
            return refused
        outcome = build(current)
        if not isinstance(outcome, Outcome):
            return outcome
        moment = now()
        changes: dict[str, object] = {
            "outcome": outcome,
            "updated_at": moment,
            "usage": coverage.consumed(current, current.status, outcome, moment),
        }
        pushes: dict[str, object] = {}
        if news is not None:
            changes["unannounced_since"] = moment
            pushes = {"unannounced": news.id, "unannounced_news": news}
        return await _update_unless_changed(current, changes, pushes)

    return await _until_written(user, request, attempt)


def _id_or_none(value: PydanticObjectId | None) -> str | None:
    return str(value) if value is not None else None


class RequestKeptChanging(RuntimeError):
    """Every attempt to write to a request found it changed since it was read: the caller
    gets an internal error and, as with any failed mutation, still holds what it sent."""

    def __init__(self, request_id: PydanticObjectId) -> None:
        super().__init__(f"request {request_id} changed on each attempt to write to it")


def _refuses_outcome(request: RequestDocument) -> NotAllowed | None:
    """Why staff may not add to ``request``'s outcome: it is closed."""
    if request.status in CLOSED:
        return NotAllowed(
            ErrorCode.REQUEST_CLOSED, "error.request_closed", {"status": status_label(request)}
        )
    return None


def _refuses_comments(request: RequestDocument) -> NotAllowed | None:
    """Why ``request`` takes no more comments: closed, or holding MAX_COMMENTS already."""
    if refused := _refuses_outcome(request):
        return refused
    if len(request.comments) >= MAX_COMMENTS:
        return NotAllowed(
            ErrorCode.TOO_MANY_COMMENTS, "error.too_many_comments", {"limit": MAX_COMMENTS}
        )
    return None


async def _audit_staff_action(
    caller: Caller,
    action: AuditAction,
    request: RequestDocument,
    *,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
) -> None:
    """A staff action on ``request``, recorded as an event about its owner."""
    await audit.record(
        caller,
        action,
        subject_id=request.user_id,
        target_type="request",
        target_id=request.id,
        before=before,
        after=after,
    )
