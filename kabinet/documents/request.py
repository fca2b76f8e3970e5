"""Requests (guide section 4): what a person asks for, its details, files and status history."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from beanie import PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.base import Document
from kabinet.documents.programme import BenefitKind
from kabinet.documents.settings import WholeDocuments
from kabinet.documents.user import Address


class RequestKind(StrEnum):
    DOCTOR_APPOINTMENT = "doctor_appointment"
    MEDICATIONS = "medications"
    LAB_TESTS = "lab_tests"
    REIMBURSEMENT = "reimbursement"
    CALLBACK = "callback"


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    IN_PROGRESS = "in_progress"
    NEEDS_INFO = "needs_info"
    SCHEDULED = "scheduled"
    APPROVED = "approved"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class TimeWindow(BaseModel):
    start: datetime
    end: datetime


class DoctorAppointmentDetails(BaseModel):
    kind: Literal[RequestKind.DOCTOR_APPOINTMENT] = RequestKind.DOCTOR_APPOINTMENT
    specialty: str
    reason: str | None = None
    preferred_times: list[TimeWindow]
    home_visit: bool = False
    address: Address | None = None
    scheduled_at: datetime | None = None
    provider_id: PydanticObjectId | None = None  # a clinic of the directory, if named


class MedicationItem(BaseModel):
    name: str
    dosage: str | None = None
    quantity: int


class MedicationsDetails(BaseModel):
    kind: Literal[RequestKind.MEDICATIONS] = RequestKind.MEDICATIONS
    items: list[MedicationItem]
    delivery_address: Address | None = None
    comment: str | None = None
    provider_id: PydanticObjectId | None = None  # a pharmacy of the directory, if named


class LabTestsDetails(BaseModel):
    kind: Literal[RequestKind.LAB_TESTS] = RequestKind.LAB_TESTS
    tests: list[str]
    preferred_times: list[TimeWindow]
    home_visit: bool = False
    address: Address | None = None
    scheduled_at: datetime | None = None
    provider_id: PydanticObjectId | None = None  # a laboratory of the directory, if named


class ReimbursementDetails(BaseModel):
    kind: Literal[RequestKind.REIMBURSEMENT] = RequestKind.REIMBURSEMENT
    amount: str  # a decimal string: money is never a float
    currency: str
    service_date: date
    description: str
    iban: str


class CallbackDetails(BaseModel):
    kind: Literal[RequestKind.CALLBACK] = RequestKind.CALLBACK
    phone: str
    preferred_time: TimeWindow | None = None
    topic: str | None = None
    scheduled_at: datetime | None = None


# What a request of each kind holds; stored with its kind as the discriminator.
Details = (
    DoctorAppointmentDetails
    | MedicationsDetails
    | LabTestsDetails
    | ReimbursementDetails
    | CallbackDetails
)
RequestDetails = Annotated[Details, Field(discriminator="kind")]


class Attachment(BaseModel):
    """A file in GridFS; its bytes are served by the authenticated `/files/{id}` route."""

    id: PydanticObjectId
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime


class AppointmentOutcome(BaseModel):
    """Where and when the person is seen: recorded with SCHEDULED (issue 16 item 4)."""

    kind: Literal[RequestKind.DOCTOR_APPOINTMENT] = RequestKind.DOCTOR_APPOINTMENT
    clinic_name: str
    clinic_address: str
    doctor: str
    specialty: str
    at: datetime
    instructions: str | None = None
    # The directory's clinic the name and address were copied from; None: typed.
    provider_id: PydanticObjectId | None = None


class ItemDecision(StrEnum):
    APPROVED = "approved"
    SUBSTITUTED = "substituted"
    REFUSED = "refused"


class MedicationDecision(BaseModel):
    """What became of one requested item (the request's `items`, same order)."""

    name: str
    decision: ItemDecision
    substitute: str | None = None  # what is given instead, when SUBSTITUTED


class Handover(StrEnum):
    DELIVERY = "delivery"
    PHARMACY_PICKUP = "pharmacy_pickup"


class MedicationsOutcome(BaseModel):
    """How the person gets the medications and which: recorded with APPROVED."""

    kind: Literal[RequestKind.MEDICATIONS] = RequestKind.MEDICATIONS
    handover: Handover
    pharmacy_name: str | None = None  # for a pick-up
    pharmacy_address: str | None = None
    items: list[MedicationDecision]
    # The directory's pharmacy the name and address were copied from; None: typed.
    provider_id: PydanticObjectId | None = None


class CallResult(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"


class CallAttempt(BaseModel):
    at: datetime
    result: CallResult
    actor_id: PydanticObjectId | None = None


class CallbackOutcome(BaseModel):
    """Each call made (`recordCallAttempt`) and when the next one is planned."""

    kind: Literal[RequestKind.CALLBACK] = RequestKind.CALLBACK
    attempts: list[CallAttempt] = Field(default_factory=list)
    next_attempt_at: datetime | None = None


class LabTestsOutcome(BaseModel):
    """Where and when samples are taken (set with SCHEDULED), then the results staff
    upload (`uploadLabResults`), which the owner downloads."""

    kind: Literal[RequestKind.LAB_TESTS] = RequestKind.LAB_TESTS
    laboratory: str | None = None
    laboratory_address: str | None = None
    at: datetime | None = None
    results: list[Attachment] = Field(default_factory=list)
    results_ready_at: datetime | None = None
    # The directory's laboratory the name and address were copied from; None: typed.
    provider_id: PydanticObjectId | None = None


class RefusalReason(StrEnum):
    NOT_COVERED = "not_covered"
    MISSING_DOCUMENTS = "missing_documents"
    INVALID_DOCUMENTS = "invalid_documents"
    OUTSIDE_POLICY_PERIOD = "outside_policy_period"
    LIMIT_EXCEEDED = "limit_exceeded"
    DUPLICATE_CLAIM = "duplicate_claim"
    OTHER = "other"


class Refusal(BaseModel):
    reason: RefusalReason
    text: str | None = None


class DocumentDecision(BaseModel):
    """Whether one of the request's files (`attachments`) was accepted."""

    attachment_id: PydanticObjectId
    approved: bool


class PayoutStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"


class Payout(BaseModel):
    status: PayoutStatus
    amount: str  # a decimal string, at most the approved amount
    paid_on: date | None = None
    reference: str | None = None  # the payment's reference, once PAID


class ReimbursementOutcome(BaseModel):
    """The decision (with APPROVED or REJECTED) and, once approved, the payout."""

    kind: Literal[RequestKind.REIMBURSEMENT] = RequestKind.REIMBURSEMENT
    approved_amount: str  # "0.00" when refused
    currency: str
    documents: list[DocumentDecision]
    refusals: list[Refusal] = Field(default_factory=list)
    payout: Payout | None = None


# What the contact centre arranged, as the member acts on it; one per kind.
Outcome = (
    AppointmentOutcome
    | MedicationsOutcome
    | CallbackOutcome
    | LabTestsOutcome
    | ReimbursementOutcome
)
RequestOutcome = Annotated[Outcome, Field(discriminator="kind")]


class Assignment(BaseModel):
    """Who handles the request from a history entry on; ``assignee_id`` None: released."""

    assignee_id: PydanticObjectId | None


class StatusChange(BaseModel):
    """One entry of a request's history: a status entered, or (with ``assignment``) a change
    of who handles it at the same status. Both are events to subscribers; only status
    entries are the request's `history` and are announced to its owner."""

    id: PydanticObjectId = Field(default_factory=PydanticObjectId)
    status: RequestStatus
    at: datetime
    comment: str | None = None
    by_operator: bool
    actor_id: PydanticObjectId | None = None
    assignment: Assignment | None = None
    # The request turned overdue (its `due_at` passed), at the same status: an event for
    # the staff's queue only (`resolvers/requests/due.py`).
    overdue: bool = False

    @property
    def status_entered(self) -> bool:
        """Whether this entry is a status change (not an assignment or an overdue mark)."""
        return self.assignment is None and not self.overdue


class Comment(BaseModel):
    id: PydanticObjectId = Field(default_factory=PydanticObjectId)
    text: str
    at: datetime
    by_operator: bool
    actor_id: PydanticObjectId | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    # A staff note the owner never sees (API, events, export, notifications).
    internal: bool = False


def assignee_after(history: list[StatusChange]) -> PydanticObjectId | None:
    """Who handled the request once ``history`` was written: the last assignment's."""
    assigned = [change.assignment for change in history if change.assignment is not None]
    return assigned[-1].assignee_id if assigned else None


class OutcomeNews(StrEnum):
    """Something of a request's outcome its owner is told about."""

    RESULTS_READY = "results_ready"
    PAYOUT_PAID = "payout_paid"


class PendingNews(BaseModel):
    """Outcome news to tell the owner; ``key`` names it once (the outbox's dedupe key)."""

    id: PydanticObjectId = Field(default_factory=PydanticObjectId)  # also in `unannounced`
    key: str
    news: OutcomeNews


class Usage(BaseModel):
    """What a decided request consumed of its card's programme (`resolvers/coverage.py:
    consumed`), written by the update that records the decision."""

    policy_id: PydanticObjectId
    benefit: BenefitKind
    on: date  # the day of the service: the period it counts in
    count: int
    kopecks: int  # in UAH; 0 for a count-only benefit or another currency


def one_request(request_id: object, user_id: object) -> dict[str, object]:
    """The filter of a write to one request. With `user_id`, the shard key of a sharded
    `requests` (`{user_id: "hashed"}`), every MongoDB version routes the write to one shard;
    a findAndModify or single update by `_id` alone needs 7.1 or later there."""
    return {"_id": request_id, "user_id": user_id}


class RequestDocument(Document):
    """A request; every status change is one atomic update guarded by ``version``."""

    number: str
    user_id: PydanticObjectId
    policy_id: PydanticObjectId
    kind: RequestKind
    status: RequestStatus = RequestStatus.SUBMITTED
    details: RequestDetails
    attachments: list[Attachment] = Field(default_factory=list)
    history: list[StatusChange] = Field(default_factory=list)
    comments: list[Comment] = Field(default_factory=list)
    version: int = 1
    # The staff member handling it (`assignRequest`); None: in nobody's hands.
    assignee_id: PydanticObjectId | None = None
    # What was arranged (`changeRequestStatus`'s `outcome`); None until then.
    outcome: RequestOutcome | None = None
    idempotency_key: str | None = None
    # What the request's decision consumed of the card's programme; None while nothing.
    usage: Usage | None = None
    # When the target that applies now (first response, then outcome) falls due; None when
    # none does (NEEDS_INFO pauses it; an outcome or a closed request ends it). Set by the
    # update that changes the status (`resolvers/requests/due.py`).
    due_at: datetime | None = None
    # The same time while its passing is still to be announced; cleared by the one process
    # that announces it.
    overdue_watch_at: datetime | None = None
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    # Set when the owner deleted the account: personal fields erased, the record kept.
    anonymised_at: datetime | None = None
    # Status changes (history entry ids) still to be announced to the owner: pushed by the
    # same update as the entry, pulled once the messages are in the outbox, so a crash in
    # between leaves them here for the sweeper (resolvers/notifications.py). The time is
    # set with them and cleared when none is left: a scalar the sweeper finds by index.
    unannounced: list[PydanticObjectId] = Field(default_factory=list)
    # Outcome news (results ready, a payout made) still to be told: each also has its id in
    # `unannounced`, which so orders and tracks every announcement still due.
    unannounced_news: list[PendingNews] = Field(default_factory=list)
    unannounced_since: datetime | None = None

    def status_changes(self) -> list[StatusChange]:
        """The history's status entries, without the assignment and overdue entries."""
        return [change for change in self.history if change.status_entered]

    def comments_for(self, *, staff: bool) -> list[Comment]:
        """The comments a reader sees: staff every one, anyone else none of the internal."""
        return [comment for comment in self.comments if staff or not comment.internal]

    class Settings(WholeDocuments):
        name = "requests"
        indexes = (
            IndexModel([("number", ASCENDING)], unique=True, name="number_unique"),
            IndexModel(
                [("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="user_newest",
            ),
            IndexModel([("created_at", DESCENDING), ("_id", DESCENDING)], name="newest"),
            # The operators' queue filtered by status or by kind.
            IndexModel(
                [("status", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="status_newest",
            ),
            IndexModel(
                [("kind", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="kind_newest",
            ),
            # The queue's counts of open requests (`queueCounts`): by status (and by kind
            # among the open ones), and one's own. A single-field index, since the embedded
            # engine narrows by one on a string equality or `$in` but not by a compound's.
            IndexModel([("status", ASCENDING)], name="status"),
            IndexModel([("assignee_id", ASCENDING), ("status", ASCENDING)], name="assignee_status"),
            # The queue of one staff member's requests, or of nobody's (`assignee_id` null).
            IndexModel(
                [("assignee_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="assignee_newest",
            ),
            # The queue by due time, and its overdue filter: only requests with a due time.
            IndexModel(
                [("due_at", ASCENDING), ("_id", ASCENDING)],
                partialFilterExpression={"due_at": {"$type": "date"}},
                name="due_soonest",
            ),
            # Only requests whose turning overdue is still to be announced.
            IndexModel(
                [("overdue_watch_at", ASCENDING)],
                partialFilterExpression={"overdue_watch_at": {"$type": "date"}},
                name="overdue_watch",
            ),
            # What each card's requests consumed (`coverage.used_on`); requests without
            # usage hold no value here.
            IndexModel([("usage.policy_id", ASCENDING)], name="usage_by_card"),
            # The polling event source and `since` replays read what changed after a time.
            IndexModel([("updated_at", ASCENDING)], name="changed"),
            # Only requests with announcements pending: the sweeper's query is this filter.
            IndexModel(
                [("unannounced_since", ASCENDING)],
                partialFilterExpression={"unannounced_since": {"$type": "date"}},
                name="unannounced",
            ),
            IndexModel(
                [("user_id", ASCENDING), ("idempotency_key", ASCENDING)],
                unique=True,
                partialFilterExpression={"idempotency_key": {"$type": "string"}},
                name="idempotency",
            ),
        )


class CounterDocument(Document):
    """Sequences for human-friendly numbers; ``id`` names the sequence, e.g. ``requests-2026``."""

    id: str  # type: ignore[assignment]
    value: int = 0

    class Settings(WholeDocuments):
        name = "counters"
