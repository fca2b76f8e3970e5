"""Requests in the API (guide section 4): filing, following, and processing them."""

import functools
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Hashable, Iterable
from datetime import date, datetime
from typing import Annotated, Any, Self

import strawberry
from beanie import PydanticObjectId
from graphql import GraphQLError
from strawberry import relay
from strawberry.file_uploads import Upload

from kabinet import events
from kabinet.clock import aware
from kabinet.documents import STAFF_ROLES, RequestDocument, UserDocument
from kabinet.documents import Attachment as AttachmentValue
from kabinet.documents.request import (
    CallbackDetails as CallbackValue,
)
from kabinet.documents.request import Comment as CommentValue
from kabinet.documents.request import (
    DoctorAppointmentDetails as DoctorAppointmentValue,
)
from kabinet.documents.request import (
    LabTestsDetails as LabTestsValue,
)
from kabinet.documents.request import MedicationItem as MedicationItemValue
from kabinet.documents.request import (
    MedicationsDetails as MedicationsValue,
)
from kabinet.documents.request import (
    ReimbursementDetails as ReimbursementValue,
)
from kabinet.documents.request import StatusChange as StatusChangeValue
from kabinet.documents.request import TimeWindow as TimeWindowValue
from kabinet.events.sockets import TooMany
from kabinet.i18n import translate
from kabinet.resolvers import errors as domain
from kabinet.resolvers import notifications, requests
from kabinet.resolvers.files import MAX_FILE_BYTES, MAX_FILES, IncomingFile, download_url
from kabinet.schema.addresses import Address
from kabinet.schema.context import Context, Info
from kabinet.schema.enums import RequestKind, RequestStatus
from kabinet.schema.errors import (
    GraphQLErrorCode,
    InputError,
    NotAllowed,
    NotFound,
    RateLimited,
    require_user,
    to_graphql,
)
from kabinet.schema.ids import by_id, decode_id, filter_id, object_id
from kabinet.schema.pagination import (
    Counted,
    PageInfo,
    decode_time_cursor,
    encode_time_cursor,
    page_size,
)
from kabinet.schema.policies import Policy
from kabinet.schema.user import User


@strawberry.type(description="A span of time that suits the person.")
class TimeWindow:
    from_: datetime = strawberry.field(name="from", description="Start.")
    to: datetime = strawberry.field(description="End.")

    @classmethod
    def from_value(cls, window: TimeWindowValue) -> Self:
        return cls(from_=window.start, to=window.end)


@strawberry.type(description="A file sent with a request or comment.")
class Attachment(relay.Node):
    id: relay.NodeID[str]
    filename: str = strawberry.field(description="Name as uploaded, cleaned.")
    content_type: str = strawberry.field(description="Detected from the content.")
    size: int = strawberry.field(description="Bytes.")
    url: str = strawberry.field(
        description="Download with the same `Authorization: Bearer` header; owner and staff only."
    )
    uploaded_at: datetime = strawberry.field(description="When it was received.")

    @classmethod
    def from_value(cls, attachment: AttachmentValue, info: Info) -> Self:
        public_url = info.context.services.settings.public_url
        return cls(
            id=str(attachment.id),
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            url=download_url(public_url, attachment.id),
            uploaded_at=attachment.uploaded_at,
        )

    @classmethod
    def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Attachments are reached through their request."""
        return [None for _ in node_ids]


@strawberry.type(description="One step of the request's history.")
class StatusChange:
    status: RequestStatus = strawberry.field(description="The status entered.")
    at: datetime = strawberry.field(description="When.")
    comment: str | None = strawberry.field(description="Why, as written by whoever changed it.")
    by_operator: bool = strawberry.field(description="Changed by the contact centre.")

    @classmethod
    def from_value(cls, change: StatusChangeValue) -> Self:
        return cls(
            status=change.status,
            at=change.at,
            comment=change.comment,
            by_operator=change.by_operator,
        )


@strawberry.type(description="A message on a request, from the person or the contact centre.")
class Comment(relay.Node):
    id: relay.NodeID[str]
    text: str = strawberry.field(description="The message.")
    at: datetime = strawberry.field(description="When.")
    by_operator: bool = strawberry.field(description="Written by the contact centre.")
    attachments: list[Attachment] = strawberry.field(description="Files sent with it.")

    @classmethod
    def from_value(cls, comment: CommentValue, info: Info) -> Self:
        return cls(
            id=str(comment.id),
            text=comment.text,
            at=comment.at,
            by_operator=comment.by_operator,
            attachments=[Attachment.from_value(a, info) for a in comment.attachments],
        )

    @classmethod
    def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Comments are reached through their request."""
        return [None for _ in node_ids]


@strawberry.type(description="Doctor appointment: what, when, where.")
class DoctorAppointmentDetails:
    specialty: str = strawberry.field(description="E.g. therapist, paediatrician.")
    reason: str | None = strawberry.field(description="Complaints or reason.")
    preferred_times: list[TimeWindow] = strawberry.field(description="Times that suit.")
    address: Address | None = strawberry.field(description="Where, for a home visit.")
    home_visit: bool = strawberry.field(description="At home rather than at the clinic.")
    scheduled_at: datetime | None = strawberry.field(description="Agreed time, once SCHEDULED.")


@strawberry.type(description="One medication to order.")
class MedicationItem:
    name: str = strawberry.field(description="Name.")
    dosage: str | None = strawberry.field(description="Dosage, e.g. 500 mg.")
    quantity: int = strawberry.field(description="How many packs.")


@strawberry.type(description="Medications to deliver.")
class MedicationsDetails:
    items: list[MedicationItem] = strawberry.field(description="What to order.")
    delivery_address: Address | None = strawberry.field(description="Where to deliver.")
    comment: str | None = strawberry.field(description="Anything else.")


@strawberry.type(description="Laboratory tests.")
class LabTestsDetails:
    tests: list[str] = strawberry.field(description="Tests to take.")
    preferred_times: list[TimeWindow] = strawberry.field(description="Times that suit.")
    home_visit: bool = strawberry.field(description="A nurse takes samples at home.")
    address: Address | None = strawberry.field(description="Where, for a home visit.")
    scheduled_at: datetime | None = strawberry.field(description="Agreed time, once SCHEDULED.")


@strawberry.type(description="Reimbursement of medical expenses.")
class ReimbursementDetails:
    amount: str = strawberry.field(description="Decimal string with two decimals, e.g. 1250.50.")
    currency: str = strawberry.field(description="UAH, USD or EUR.")
    service_date: date = strawberry.field(description="When the service was received.")
    description: str = strawberry.field(description="What was paid for.")
    iban: str = strawberry.field(description="Ukrainian IBAN to pay to.")


@strawberry.type(description="Call me back.")
class CallbackDetails:
    phone: str = strawberry.field(description="Number to call (E.164).")
    preferred_time: TimeWindow | None = strawberry.field(description="When it suits.")
    topic: str | None = strawberry.field(description="What about.")


RequestDetails = Annotated[
    DoctorAppointmentDetails
    | MedicationsDetails
    | LabTestsDetails
    | ReimbursementDetails
    | CallbackDetails,
    strawberry.union("RequestDetails", description="The details of the request's kind."),
]


def _address(value: object) -> Address | None:
    return Address.from_document(value) if value is not None else None  # type: ignore[arg-type]


def _details(value: requests.Details) -> object:
    match value:
        case DoctorAppointmentValue():
            return DoctorAppointmentDetails(
                specialty=value.specialty,
                reason=value.reason,
                preferred_times=[TimeWindow.from_value(w) for w in value.preferred_times],
                address=_address(value.address),
                home_visit=value.home_visit,
                scheduled_at=value.scheduled_at,
            )
        case MedicationsValue():
            return MedicationsDetails(
                items=[
                    MedicationItem(name=i.name, dosage=i.dosage, quantity=i.quantity)
                    for i in value.items
                ],
                delivery_address=_address(value.delivery_address),
                comment=value.comment,
            )
        case LabTestsValue():
            return LabTestsDetails(
                tests=value.tests,
                preferred_times=[TimeWindow.from_value(w) for w in value.preferred_times],
                home_visit=value.home_visit,
                address=_address(value.address),
                scheduled_at=value.scheduled_at,
            )
        case ReimbursementValue():
            return ReimbursementDetails(
                amount=value.amount,
                currency=value.currency,
                service_date=value.service_date,
                description=value.description,
                iban=value.iban,
            )
        case CallbackValue():
            window = value.preferred_time
            return CallbackDetails(
                phone=value.phone,
                preferred_time=TimeWindow.from_value(window) if window else None,
                topic=value.topic,
            )


@strawberry.type(description="A request and everything about it.")
class Request(relay.Node):
    id: relay.NodeID[str]
    number: str = strawberry.field(description="Human-friendly number, e.g. R-2026-000123.")
    kind: RequestKind = strawberry.field(description="What is asked for.")
    status: RequestStatus = strawberry.field(description="Where it is now.")
    created_at: datetime = strawberry.field(description="When it was filed.")
    updated_at: datetime = strawberry.field(description="Last change.")
    details: RequestDetails = strawberry.field(description="The details of its kind.")
    history: list[StatusChange] = strawberry.field(description="Every status, oldest first.")
    comments: list[Comment] = strawberry.field(description="Messages, oldest first.")
    attachments: list[Attachment] = strawberry.field(description="Files filed with it.")
    anonymised_at: datetime | None = strawberry.field(
        description="When the owner deleted the account: free text, phones, addresses, IBAN, "
        "comments and files were erased then, the rest kept for the insurer; null otherwise."
    )
    document: strawberry.Private[RequestDocument]

    @classmethod
    def from_document(cls, document: RequestDocument, info: Info) -> Self:
        return cls(
            id=str(document.id),
            number=document.number,
            kind=document.kind,
            status=document.status,
            created_at=document.created_at,
            updated_at=document.updated_at,
            details=_details(document.details),  # type: ignore[arg-type]
            history=[StatusChange.from_value(change) for change in document.history],
            comments=[Comment.from_value(comment, info) for comment in document.comments],
            attachments=[Attachment.from_value(a, info) for a in document.attachments],
            anonymised_at=document.anonymised_at,
            document=document,
        )

    @strawberry.field(description="The card it was filed against.")
    async def policy(self, info: Info) -> Policy:
        viewer = info.context.caller.user
        policy = await info.context.loaders.card_of_request(
            viewer, self.document.user_id, self.document.policy_id
        )
        staff = viewer is not None and viewer.is_staff
        active = viewer is not None and viewer.active_policy_id == self.document.policy_id
        return Policy.from_document(policy, active=active and not staff, staff=staff)  # type: ignore[arg-type]

    @strawberry.field(description="Who filed it; staff see it for any request.")
    async def applicant(self, info: Info) -> User | None:
        user = await info.context.loaders.user.load(self.document.user_id)
        return User.from_document(user) if user else None

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """The caller's own requests; staff see any. One query for all the ids of an
        operation (`a: node(id: …) b: node(id: …)` included)."""
        viewer = info.context.caller.user
        ids = [object_id(node_id) for node_id in node_ids]
        if viewer is None:
            return [None for _ in ids]
        wanted = [request_id for request_id in ids if request_id]
        loaded = await info.context.loaders.readable_requests(viewer).load_many(wanted)
        found = dict(zip(wanted, loaded, strict=True))
        return [
            cls.from_document(document, info)
            if request_id and (document := found[request_id])
            else None
            for request_id in ids
        ]


@strawberry.type(description="One request in a list.")
class RequestEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this one.")
    node: Request = strawberry.field(description="The request.")


@strawberry.type(description="A page of requests, newest first.")
class RequestConnection(Counted):
    edges: list[RequestEdge] = strawberry.field(description="The requests of this page.")
    page_info: PageInfo = strawberry.field(description="Where the page sits.")


@strawberry.input(description="Narrow a list of requests; all given conditions apply.")
class RequestFilter:
    kinds: list[RequestKind] | None = strawberry.field(
        default=None, description="Any of these kinds."
    )
    statuses: list[RequestStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    policy_id: strawberry.ID | None = strawberry.field(
        default=None, description="Filed on this card."
    )
    created_from: datetime | None = strawberry.field(default=None, description="Filed at or after.")
    created_to: datetime | None = strawberry.field(default=None, description="Filed at or before.")


async def request_connection(
    info: Info,
    *,
    owner_id: PydanticObjectId | None,
    first: int | None,
    after: str | None,
    filter: RequestFilter | None,
) -> RequestConnection:
    filters = requests.RequestFilter()
    if filter is not None:
        filters = requests.RequestFilter(
            kinds=filter.kinds or None,
            statuses=filter.statuses or None,
            policy_id=filter_id(filter.policy_id, "Policy"),
            created_from=aware(filter.created_from) if filter.created_from else None,
            created_to=aware(filter.created_to) if filter.created_to else None,
        )
    page = await requests.list_requests(
        owner_id=owner_id, filters=filters, first=page_size(first), after=decode_time_cursor(after)
    )
    edges = [
        RequestEdge(
            cursor=encode_time_cursor(r.created_at, r.id), node=Request.from_document(r, info)
        )
        for r in page.items
    ]
    return RequestConnection(
        edges=edges,
        page_info=PageInfo.of([edge.cursor for edge in edges], has_next=page.has_next, after=after),
        count=page.count,
    )


# ---- inputs


@strawberry.input(description="A span of time.")
class TimeWindowInput:
    from_: datetime = strawberry.field(name="from", description="Start, in the future.")
    to: datetime = strawberry.field(description="End, after the start.")


def _window(window: TimeWindowInput) -> TimeWindowValue:
    return TimeWindowValue(start=aware(window.from_), end=aware(window.to))


@strawberry.input(description="Book an appointment with a doctor.")
class DoctorAppointmentInput:
    specialty: str = strawberry.field(description="E.g. therapist.")
    reason: str | None = strawberry.field(default=None, description="Complaints or reason.")
    preferred_times: list[TimeWindowInput] = strawberry.field(description="One to ten windows.")
    home_visit: bool | None = strawberry.field(default=False, description="A home visit.")
    address_id: strawberry.ID | None = strawberry.field(
        default=None, description="One of `me.addresses`; required for a home visit."
    )


@strawberry.input(description="One medication.")
class MedicationItemInput:
    name: str = strawberry.field(description="Name.")
    dosage: str | None = strawberry.field(default=None, description="Dosage.")
    quantity: int = strawberry.field(description="Packs, 1 to 1000.")


@strawberry.input(description="Order medications.")
class MedicationsInput:
    items: list[MedicationItemInput] = strawberry.field(description="One to thirty items.")
    delivery_address_id: strawberry.ID | None = strawberry.field(
        default=None, description="One of `me.addresses`."
    )
    comment: str | None = strawberry.field(default=None, description="Anything else.")
    prescriptions: list[Upload] | None = strawberry.field(
        default=None, description="Prescriptions: PDF, JPEG, PNG or HEIC, 10 MB each."
    )


@strawberry.input(description="Order laboratory tests.")
class LabTestsInput:
    tests: list[str] = strawberry.field(description="Tests to take.")
    preferred_times: list[TimeWindowInput] = strawberry.field(description="One to ten windows.")
    home_visit: bool | None = strawberry.field(default=False, description="Samples taken at home.")
    address_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for a home visit."
    )


@strawberry.input(description="Ask to reimburse medical expenses.")
class ReimbursementInput:
    amount: str = strawberry.field(description="Decimal, e.g. 1250.50.")
    currency: str | None = strawberry.field(default=None, description="UAH (default), USD, EUR.")
    service_date: date = strawberry.field(description="Within the card's validity, not future.")
    description: str = strawberry.field(description="What was paid for.")
    iban: str = strawberry.field(description="Ukrainian IBAN (UA + 27 digits).")
    documents: list[Upload] = strawberry.field(
        description="Receipts, prescriptions, reports: 1 to 10 files, PDF/JPEG/PNG/HEIC."
    )


@strawberry.input(description="Order a callback.")
class CallbackInput:
    phone: str | None = strawberry.field(
        default=None, description="Default: the primary confirmed phone."
    )
    preferred_time: TimeWindowInput | None = strawberry.field(default=None, description="When.")
    topic: str | None = strawberry.field(default=None, description="What about.")


@strawberry.input(one_of=True, description="Exactly one kind of request.")
class CreateRequestInput:
    doctor_appointment: DoctorAppointmentInput | None = strawberry.field(
        default=strawberry.UNSET, description="Doctor appointment."
    )
    medications: MedicationsInput | None = strawberry.field(
        default=strawberry.UNSET, description="Medications."
    )
    lab_tests: LabTestsInput | None = strawberry.field(
        default=strawberry.UNSET, description="Laboratory tests."
    )
    reimbursement: ReimbursementInput | None = strawberry.field(
        default=strawberry.UNSET, description="Reimbursement."
    )
    callback: CallbackInput | None = strawberry.field(
        default=strawberry.UNSET, description="Callback."
    )


@strawberry.input(description="Cancel a request before the work is done.")
class CancelRequestInput:
    request_id: strawberry.ID = strawberry.field(description="Id of the request.")
    reason: str | None = strawberry.field(default=None, description="Why, optional.")


@strawberry.input(description="A message on a request, optionally with files.")
class AddCommentInput:
    request_id: strawberry.ID = strawberry.field(description="Id of the request.")
    text: str = strawberry.field(description="The message; may be empty when files are sent.")
    attachments: list[Upload] | None = strawberry.field(
        default=None, description="Up to 10 files, PDF/JPEG/PNG/HEIC, 10 MB each."
    )


@strawberry.input(description="Staff: move a request along its lifecycle.")
class ChangeRequestStatusInput:
    request_id: strawberry.ID = strawberry.field(description="Id of the request.")
    status: RequestStatus = strawberry.field(description="The new status.")
    comment: str | None = strawberry.field(default=None, description="Shown to the person.")
    scheduled_at: datetime | None = strawberry.field(
        default=None, description="Required for SCHEDULED: the agreed time."
    )


CreateRequestResult = Annotated[
    Request | InputError | NotAllowed | RateLimited,
    strawberry.union(
        "CreateRequestResult",
        description="The filed request, or why not (NotAllowed: no active or valid card).",
    ),
]
CancelRequestResult = Annotated[
    Request | NotFound | NotAllowed | InputError,
    strawberry.union("CancelRequestResult", description="The cancelled request, or why not."),
]
AddCommentResult = Annotated[
    Request | InputError | NotFound | NotAllowed | RateLimited,
    strawberry.union("AddCommentResult", description="The request with the comment, or why not."),
]
ChangeRequestStatusResult = Annotated[
    Request | NotFound | NotAllowed | InputError,
    strawberry.union("ChangeRequestStatusResult", description="The changed request, or why not."),
]


async def _read(uploads: list[Upload] | None) -> list[IncomingFile]:
    """Each upload up to one byte past the limit, so an oversized one is refused unstored.

    At most one file more than allowed is read: enough to refuse too many files.
    """
    return [
        IncomingFile(
            filename=upload.filename or "document", content=await upload.read(MAX_FILE_BYTES + 1)
        )
        for upload in (uploads or [])[: MAX_FILES + 1]
    ]


def _address_id(value: strawberry.ID | None) -> str | None:
    if value is None:
        return None
    decoded = decode_id(value, "Address")
    return str(decoded) if decoded else str(value)


async def _form(input: CreateRequestInput) -> requests.RequestForm:
    if input.doctor_appointment:
        doctor = input.doctor_appointment
        return requests.DoctorAppointmentForm(
            specialty=doctor.specialty,
            reason=doctor.reason,
            preferred_times=[_window(w) for w in doctor.preferred_times],
            home_visit=bool(doctor.home_visit),
            address_id=_address_id(doctor.address_id),
        )
    if input.medications:
        medications = input.medications
        return requests.MedicationsForm(
            items=[
                MedicationItemValue(name=i.name, dosage=i.dosage, quantity=i.quantity)
                for i in medications.items
            ],
            delivery_address_id=_address_id(medications.delivery_address_id),
            comment=medications.comment,
            prescriptions=await _read(medications.prescriptions),
        )
    if input.lab_tests:
        lab = input.lab_tests
        return requests.LabTestsForm(
            tests=lab.tests,
            preferred_times=[_window(w) for w in lab.preferred_times],
            home_visit=bool(lab.home_visit),
            address_id=_address_id(lab.address_id),
        )
    if input.reimbursement:
        money = input.reimbursement
        return requests.ReimbursementForm(
            amount=money.amount,
            currency=money.currency,
            service_date=money.service_date,
            description=money.description,
            iban=money.iban,
            documents=await _read(money.documents),
        )
    callback = input.callback or CallbackInput()
    return requests.CallbackForm(
        phone=callback.phone,
        preferred_time=_window(callback.preferred_time) if callback.preferred_time else None,
        topic=callback.topic,
    )


def _answer(info: Info, outcome: RequestDocument | domain.DomainError) -> object:
    if isinstance(outcome, RequestDocument):
        return Request.from_document(outcome, info)
    return to_graphql(outcome, info.context.caller.locale)


@strawberry.type
class RequestsQuery:
    @strawberry.field(description="Staff: every request, newest first, with filters.")
    async def request_queue(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: RequestFilter | None = None,
    ) -> RequestConnection:
        require_user(info, *STAFF_ROLES)
        return await request_connection(
            info, owner_id=None, first=first, after=after, filter=filter
        )


@strawberry.type
class RequestsMutation:
    @strawberry.mutation(
        description="File a request against the active card. The same "
        "`idempotencyKey` from the same account returns the first request instead of a new one."
    )
    async def create_request(
        self,
        info: Info,
        input: CreateRequestInput,
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(
                description="Your key for retrying this submission safely (e.g. a UUID): 8-128 "
                "characters of A-Z, a-z, 0-9, `_` and `-`."
            ),
        ] = None,
    ) -> CreateRequestResult:
        user = require_user(info)
        outcome = await requests.create_request(
            services=info.context.services,
            caller=info.context.caller,
            user=user,
            form=await _form(input),
            idempotency_key=idempotency_key,
        )
        return _answer(info, outcome)

    @strawberry.mutation(description="Cancel your request before the work is done.")
    async def cancel_request(self, info: Info, input: CancelRequestInput) -> CancelRequestResult:
        user = require_user(info)
        outcome = await by_id(
            input.request_id,
            "Request",
            lambda request_id: requests.cancel_request(
                user=user, request_id=request_id, reason=input.reason
            ),
        )
        return _answer(info, outcome)

    @strawberry.mutation(
        description="Write on a request, with files; the owner's answer to NEEDS_INFO returns "
        "it to IN_PROGRESS."
    )
    async def add_comment(self, info: Info, input: AddCommentInput) -> AddCommentResult:
        user = require_user(info)
        attachments = await _read(input.attachments)
        outcome = await by_id(
            input.request_id,
            "Request",
            lambda request_id: requests.add_comment(
                services=info.context.services,
                caller=info.context.caller,
                user=user,
                request_id=request_id,
                text=input.text,
                attachments=attachments,
            ),
        )
        return _answer(info, outcome)

    @strawberry.mutation(description="Staff: change a request's status (lifecycle in the docs).")
    async def change_request_status(
        self, info: Info, input: ChangeRequestStatusInput
    ) -> ChangeRequestStatusResult:
        user = require_user(info, *STAFF_ROLES)
        outcome = await by_id(
            input.request_id,
            "Request",
            lambda request_id: requests.change_status(
                services=info.context.services,
                caller=info.context.caller,
                user=user,
                request_id=request_id,
                status=input.status,
                comment=input.comment,
                scheduled_at=aware(input.scheduled_at) if input.scheduled_at else None,
            ),
        )
        return _answer(info, outcome)


@strawberry.type(description="A status change of a request, delivered live.")
class RequestEvent:
    status: RequestStatus = strawberry.field(
        description="The status this change entered (the same whether the event arrives live "
        "or is replayed with `since`)."
    )
    previous_status: RequestStatus | None = strawberry.field(
        description="The status before; null when the request was just filed."
    )
    at: datetime = strawberry.field(description="When the status changed.")
    by_operator: bool = strawberry.field(
        description="Whether the contact centre made the change (else the person: filing, "
        "cancelling, or answering a question)."
    )
    comment: str | None = strawberry.field(
        description="Why, as written by whoever changed the status."
    )
    request: Request = strawberry.field(
        description="The request as it stood right after this change: its status, the history "
        "up to it and the comments written by then."
    )
    source: strawberry.Private[events.StatusEvent]

    @classmethod
    def of(cls, event: events.StatusEvent, info: Info) -> Self:
        """``event`` for this subscriber: built once per audience (`audience`), since every
        subscriber of this process receives the same event object."""
        key = (cls, _audience(event, info.context))
        built: Self | None = event.shared.get(key)
        if built is None:
            built = event.shared[key] = cls(
                status=event.status,
                previous_status=event.previous_status,
                at=event.at,
                by_operator=event.change.by_operator,
                comment=event.change.comment,
                request=Request.from_document(event.request, info),
                source=event,
            )
        return built

    def audience(self, context: Context) -> Hashable:
        return _audience(self.source, context)

    @property
    def answers(self) -> dict[Hashable, Any]:
        return self.source.shared


def _audience(event: events.StatusEvent, context: Context) -> Hashable:
    """Who sees the event's request, for sharing answers (kabinet.schema.sharing): its owner
    (whose own cards decide `policy.active`), or staff of one role; in one language. Which
    events reach a subscriber is its own filter's business, never this grouping's."""
    caller = context.caller
    user = caller.user
    if user is None:  # pragma: no cover - subscriptions run on signed-in sockets only
        return None
    if user.id == event.user_id:
        return ("owner", user.id, caller.locale)
    return ("staff", user.role, caller.locale)


async def _live(
    info: Info,
    wanted: Callable[[events.StatusEvent], bool],
    since: datetime | None,
    owner_id: PydanticObjectId | None = None,
) -> AsyncGenerator[RequestEvent]:
    """Events for one subscriber: first those missed since ``since``, then live ones.

    Counted against its account's and address's subscription limits while it runs. A
    quiet subscriber only waits on its queue: when its session ends, the socket closes
    (4403, see kabinet.events.sockets) and takes the subscription with it. When the event
    source lost changes (`events.HistoryLost`), it ends with `EVENTS_INTERRUPTED`: the
    client subscribes again with `since`.
    """
    context = info.context
    if context.socket is None:  # pragma: no cover - Strawberry runs them on WebSockets only
        raise RuntimeError("a subscription without a signed-in WebSocket")
    try:
        counted = context.services.sockets.subscription(context.socket)
    except TooMany as refused:
        raise GraphQLError(
            refused.message(context.caller.locale),
            extensions={"code": GraphQLErrorCode.TOO_MANY_SUBSCRIPTIONS, "limit": refused.limit},
        ) from refused
    with counted:
        fell_behind = functools.partial(context.services.sockets.fell_behind, context.socket)
        async with context.services.events.subscribe(wanted, fell_behind) as stream:
            # Listening starts before the replay is read, so nothing falls between the two.
            missed = (
                await events.missed_since(aware(since), owner_id=owner_id)
                if since is not None
                else []
            )
            delivered: set[PydanticObjectId] = set()
            try:
                async for event in _chain([e for e in missed if wanted(e)], stream):
                    if event.change_id in delivered:
                        continue
                    delivered.add(event.change_id)
                    yield RequestEvent.of(event, info)
            except events.HistoryLost as lost:
                raise GraphQLError(
                    translate("events.history_lost", context.caller.locale),
                    extensions={"code": GraphQLErrorCode.EVENTS_INTERRUPTED},
                ) from lost
            except events.SubscriberTooSlow:
                # Its socket is being closed (4413, `Sockets.fell_behind`): the client
                # reconnects with `since`, which replays what it missed.
                return


async def _chain[T](first: list[T], then: AsyncIterator[T]) -> AsyncIterator[T]:
    for item in first:
        yield item
    async for item in then:
        yield item


@strawberry.type
class RequestsSubscription:
    @strawberry.subscription(
        description="Status changes of the signed-in person's requests; of one request when "
        "`requestId` is given."
    )
    async def request_updated(
        self,
        info: Info,
        request_id: strawberry.ID | None = None,
        since: Annotated[
            datetime | None,
            strawberry.argument(
                description="Replay the changes after this time first (the `at` of the last "
                "event seen), so a reconnect misses nothing."
            ),
        ] = None,
    ) -> AsyncGenerator[RequestEvent]:
        user = require_user(info)
        only = decode_id(request_id, "Request") if request_id is not None else None
        if request_id is not None and only is None:
            return

        def wanted(event: events.StatusEvent) -> bool:
            return event.user_id == user.id and (only is None or event.request_id == only)

        async for update in _live(info, wanted, since, user.id):
            yield update

    @strawberry.subscription(description="Staff: every request filed or changed.")
    async def request_queue_updated(
        self,
        info: Info,
        since: Annotated[
            datetime | None,
            strawberry.argument(description="Replay the changes after this time first."),
        ] = None,
    ) -> AsyncGenerator[RequestEvent]:
        require_user(info, *STAFF_ROLES)
        async for update in _live(info, lambda _: True, since):
            yield update


@strawberry.type(description="Which status changes are announced on which channel.")
class NotificationSettings:
    sms: list[RequestStatus] = strawberry.field(
        description="By SMS to the primary phone; default SCHEDULED, NEEDS_INFO, COMPLETED, "
        "REJECTED."
    )
    email: list[RequestStatus] = strawberry.field(description="By email; default none.")

    @classmethod
    def from_document(cls, user: UserDocument) -> Self:
        settings = user.notifications
        return cls(
            sms=[RequestStatus(value) for value in settings.sms],
            email=[RequestStatus(value) for value in settings.email],
        )


@strawberry.input(description="Which status changes to announce on which channel.")
class NotificationSettingsInput:
    sms: list[RequestStatus] = strawberry.field(description="Announced by SMS.")
    email: list[RequestStatus] = strawberry.field(description="Announced by email.")


UpdateNotificationSettingsResult = Annotated[
    User | InputError,
    strawberry.union(
        "UpdateNotificationSettingsResult", description="The account, or what is wrong."
    ),
]


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(description="Choose how status changes of your requests reach you.")
    async def update_notification_settings(
        self, info: Info, input: NotificationSettingsInput
    ) -> UpdateNotificationSettingsResult:
        user = require_user(info)
        outcome = await notifications.update_settings(
            user=user,
            sms=input.sms,
            email=input.email,
        )
        if isinstance(outcome, UserDocument):
            return User.from_document(outcome)
        return to_graphql(outcome, info.context.caller.locale)
