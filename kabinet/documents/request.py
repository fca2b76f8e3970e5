"""Requests (guide section 4): what a person asks for, its details, files and status history."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from kabinet.clock import now
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


class MedicationItem(BaseModel):
    name: str
    dosage: str | None = None
    quantity: int


class MedicationsDetails(BaseModel):
    kind: Literal[RequestKind.MEDICATIONS] = RequestKind.MEDICATIONS
    items: list[MedicationItem]
    delivery_address: Address | None = None
    comment: str | None = None


class LabTestsDetails(BaseModel):
    kind: Literal[RequestKind.LAB_TESTS] = RequestKind.LAB_TESTS
    tests: list[str]
    preferred_times: list[TimeWindow]
    home_visit: bool = False
    address: Address | None = None
    scheduled_at: datetime | None = None


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


class StatusChange(BaseModel):
    id: PydanticObjectId = Field(default_factory=PydanticObjectId)
    status: RequestStatus
    at: datetime
    comment: str | None = None
    by_operator: bool
    actor_id: PydanticObjectId | None = None


class Comment(BaseModel):
    id: PydanticObjectId = Field(default_factory=PydanticObjectId)
    text: str
    at: datetime
    by_operator: bool
    actor_id: PydanticObjectId | None = None
    attachments: list[Attachment] = Field(default_factory=list)


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
    idempotency_key: str | None = None
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    # Set when the owner deleted the account: personal fields erased, the record kept.
    anonymised_at: datetime | None = None
    # Status changes (history entry ids) still to be announced to the owner: pushed by the
    # same update as the entry, pulled once the messages are in the outbox, so a crash in
    # between leaves them here for the sweeper (resolvers/notifications.py). The time is
    # set with them and cleared when none is left: a scalar the sweeper finds by index.
    unannounced: list[PydanticObjectId] = Field(default_factory=list)
    unannounced_since: datetime | None = None

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
