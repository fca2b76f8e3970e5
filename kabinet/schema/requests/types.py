"""What a request looks like in the API: the request, its details, history, comments
and files, and the pages of requests."""

from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self

import strawberry
from bson import ObjectId
from strawberry import relay

from kabinet.documents import Attachment as AttachmentValue
from kabinet.documents import PolicyDocument, RequestDocument, UserDocument
from kabinet.documents import RequestKind as RequestKindValue
from kabinet.documents.request import AppointmentOutcome as AppointmentOutcomeValue
from kabinet.documents.request import (
    CallbackDetails as CallbackValue,
)
from kabinet.documents.request import CallbackOutcome as CallbackOutcomeValue
from kabinet.documents.request import Comment as CommentValue
from kabinet.documents.request import Details
from kabinet.documents.request import (
    DoctorAppointmentDetails as DoctorAppointmentValue,
)
from kabinet.documents.request import (
    LabTestsDetails as LabTestsValue,
)
from kabinet.documents.request import LabTestsOutcome as LabTestsOutcomeValue
from kabinet.documents.request import (
    MedicationsDetails as MedicationsValue,
)
from kabinet.documents.request import MedicationsOutcome as MedicationsOutcomeValue
from kabinet.documents.request import Outcome as OutcomeValue
from kabinet.documents.request import (
    ReimbursementDetails as ReimbursementValue,
)
from kabinet.documents.request import ReimbursementOutcome as ReimbursementOutcomeValue
from kabinet.documents.request import StatusChange as StatusChangeValue
from kabinet.documents.request import TimeWindow as TimeWindowValue
from kabinet.resolvers import coverage, requests
from kabinet.resolvers.files import download_url, signed_download_url
from kabinet.resolvers.requests import RequestSummary, due
from kabinet.resolvers.requests import available_actions as actions_for
from kabinet.schema.addresses import Address
from kabinet.schema.context import Context, Info
from kabinet.schema.coverage import CoverageCheck, checked
from kabinet.schema.enums import (
    CallResult,
    Handover,
    ItemDecision,
    PayoutStatus,
    RefusalReason,
    RequestAction,
    RequestKind,
    RequestStatus,
)
from kabinet.schema.execution import with_context
from kabinet.schema.ids import object_id
from kabinet.schema.labels import label_of
from kabinet.schema.loaders import Loaders
from kabinet.schema.pagination import (
    Counted,
    PageInfo,
    encode_time_cursor,
)
from kabinet.schema.policies import Policy, card_view
from kabinet.schema.providers import NamesProvider
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
        description="Where the caller downloads the file: a signed link that opens with no "
        "header (for `<img src>` and `<a download>`) for at least half of "
        "`KABINET_FILE_LINK_TTL_SECONDS` (15 minutes by default), for the caller only; with "
        "the caller's `Authorization: Bearer` header it opens after that too. Owner and "
        "staff only."
    )
    uploaded_at: datetime = strawberry.field(description="When it was received.")

    @classmethod
    def from_value(cls, attachment: AttachmentValue, info: Info) -> Self:
        services, viewer = info.context.services, info.context.caller.user
        public_url = services.settings.public_url
        return cls(
            id=str(attachment.id),
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            url=signed_download_url(
                public_url, attachment.id, links=services.links, viewer_id=viewer.id
            )
            if viewer is not None and viewer.id is not None
            else download_url(public_url, attachment.id),
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
    status_label: str = label_of("status", "`status` in the caller's language.")
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
    internal: bool = strawberry.field(
        description="A staff note: only staff see it (the person never gets it)."
    )

    @classmethod
    def from_value(cls, comment: CommentValue, info: Info) -> Self:
        return cls(
            id=str(comment.id),
            text=comment.text,
            at=comment.at,
            by_operator=comment.by_operator,
            attachments=[Attachment.from_value(a, info) for a in comment.attachments],
            internal=comment.internal,
        )

    @classmethod
    def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Comments are reached through their request."""
        return [None for _ in node_ids]


@strawberry.type(description="Doctor appointment: what, when, where.")
class DoctorAppointmentDetails(NamesProvider):
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
class MedicationsDetails(NamesProvider):
    items: list[MedicationItem] = strawberry.field(description="What to order.")
    delivery_address: Address | None = strawberry.field(description="Where to deliver.")
    comment: str | None = strawberry.field(description="Anything else.")


@strawberry.type(description="Laboratory tests.")
class LabTestsDetails(NamesProvider):
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


@strawberry.type(description="Where, when and with whom a doctor appointment was arranged.")
class AppointmentOutcome(NamesProvider):
    clinic_name: str = strawberry.field(description="The clinic.")
    clinic_address: str = strawberry.field(description="Its address.")
    doctor: str = strawberry.field(description="The doctor's name.")
    specialty: str = strawberry.field(description="Their specialty.")
    at: datetime = strawberry.field(description="Date and time of the appointment.")
    instructions: str | None = strawberry.field(description="What to bring or do beforehand.")


@strawberry.type(description="What became of one requested medication.")
class MedicationDecision:
    name: str = strawberry.field(description="The medication asked for.")
    decision: ItemDecision = strawberry.field(description="Approved, substituted or refused.")
    substitute: str | None = strawberry.field(description="What is given instead, if any.")


@strawberry.type(description="How and which medications the person gets.")
class MedicationsOutcome(NamesProvider):
    handover: Handover = strawberry.field(description="Delivery or a pharmacy pick-up.")
    pharmacy_name: str | None = strawberry.field(
        description="The pharmacy: for a pick-up, or the one delivering when named."
    )
    pharmacy_address: str | None = strawberry.field(description="Its address.")
    items: list[MedicationDecision] = strawberry.field(
        description="Each requested item, in the request's order."
    )


@strawberry.type(description="One call to the person.")
class CallAttempt:
    at: datetime = strawberry.field(description="When it was made.")
    result: CallResult = strawberry.field(description="How it went.")


@strawberry.type(description="The calls made for a callback request.")
class CallbackOutcome:
    attempts: list[CallAttempt] = strawberry.field(description="Each call, oldest first.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next call is planned; null: none."
    )


@strawberry.type(description="Where and when lab samples are taken, and the results.")
class LabTestsOutcome(NamesProvider):
    laboratory: str | None = strawberry.field(description="The laboratory, once SCHEDULED.")
    laboratory_address: str | None = strawberry.field(description="Its address.")
    samples_at: datetime | None = strawberry.field(description="When samples are taken.")
    results: list[Attachment] = strawberry.field(
        description="The results, to download like any attachment; empty until ready."
    )
    results_ready_at: datetime | None = strawberry.field(
        description="When the last results were added."
    )


@strawberry.type(description="Whether one of the request's files was accepted.")
class DocumentDecision:
    attachment_id: strawberry.ID = strawberry.field(description="The `Attachment` id.")
    approved: bool = strawberry.field(description="Accepted.")


@strawberry.type(description="One reason for refusing a reimbursement, in whole or in part.")
class Refusal:
    reason: RefusalReason = strawberry.field(description="Why.")
    text: str | None = strawberry.field(description="In words.")


@strawberry.type(description="The payment of an approved reimbursement.")
class Payout:
    status: PayoutStatus = strawberry.field(description="PENDING or PAID.")
    amount: str = strawberry.field(description="Decimal string, e.g. 1000.00.")
    paid_on: date | None = strawberry.field(description="When it was paid.")
    reference: str | None = strawberry.field(description="The payment's reference.")


@strawberry.type(description="The decision on a reimbursement and its payout.")
class ReimbursementOutcome:
    approved_amount: str = strawberry.field(
        description="Decimal string; 0.00 when refused. At most the claimed amount."
    )
    currency: str = strawberry.field(description="The claim's currency.")
    documents: list[DocumentDecision] = strawberry.field(description="Each file's decision.")
    refusals: list[Refusal] = strawberry.field(description="What was refused and why.")
    payout: Payout | None = strawberry.field(description="The payment, once ordered.")


RequestOutcome = Annotated[
    AppointmentOutcome
    | MedicationsOutcome
    | CallbackOutcome
    | LabTestsOutcome
    | ReimbursementOutcome,
    strawberry.union(
        "RequestOutcome", description="What the contact centre arranged, by the request's kind."
    ),
]


def _outcome(value: OutcomeValue, info: Info) -> object:
    match value:
        case ReimbursementOutcomeValue():
            payout = value.payout
            return ReimbursementOutcome(
                approved_amount=value.approved_amount,
                currency=value.currency,
                documents=[
                    DocumentDecision(
                        attachment_id=relay.to_base64("Attachment", str(d.attachment_id)),
                        approved=d.approved,
                    )
                    for d in value.documents
                ],
                refusals=[Refusal(reason=r.reason, text=r.text) for r in value.refusals],
                payout=Payout(
                    status=payout.status,
                    amount=payout.amount,
                    paid_on=payout.paid_on,
                    reference=payout.reference,
                )
                if payout
                else None,
            )
        case LabTestsOutcomeValue():
            return LabTestsOutcome(
                laboratory=value.laboratory,
                laboratory_address=value.laboratory_address,
                samples_at=value.at,
                results=[Attachment.from_value(a, info) for a in value.results],
                results_ready_at=value.results_ready_at,
                provider_id=value.provider_id,
            )
        case AppointmentOutcomeValue():
            return AppointmentOutcome(
                clinic_name=value.clinic_name,
                clinic_address=value.clinic_address,
                doctor=value.doctor,
                specialty=value.specialty,
                at=value.at,
                instructions=value.instructions,
                provider_id=value.provider_id,
            )
        case CallbackOutcomeValue():
            return CallbackOutcome(
                attempts=[CallAttempt(at=a.at, result=a.result) for a in value.attempts],
                next_attempt_at=value.next_attempt_at,
            )
        case MedicationsOutcomeValue():
            return MedicationsOutcome(
                handover=value.handover,
                pharmacy_name=value.pharmacy_name,
                pharmacy_address=value.pharmacy_address,
                items=[
                    MedicationDecision(name=i.name, decision=i.decision, substitute=i.substitute)
                    for i in value.items
                ],
                provider_id=value.provider_id,
            )


@strawberry.type(description="Something the caller may do to a request now.")
class AvailableAction:
    action: RequestAction = strawberry.field(description="What, and with which mutation.")
    status: RequestStatus | None = strawberry.field(
        description="The status it leads to (CHANGE_STATUS, CANCEL); null otherwise."
    )
    required_fields: list[str] = strawberry.field(
        description="The mutation's input fields it needs besides the request and status, "
        "as paths (e.g. `scheduledAt`, `outcome.appointment`)."
    )


@strawberry.type(description="Who in the contact centre handles a request.")
class RequestAssignee:
    first_name: str | None = strawberry.field(
        description="Their first name: all the person is shown of them."
    )
    user: User | None = strawberry.field(
        description="Staff only: the staff member's account; null for the person."
    )


def _staff_reads(info: Info) -> bool:
    """Whether the caller is staff, who see internal notes and who handles a request."""
    viewer = info.context.caller.user
    return viewer is not None and viewer.is_staff


async def _then[T, R](pending: Awaitable[T], then: Callable[[T], R]) -> R:
    return then(await pending)


def _address(value: object) -> Address | None:
    return Address.from_document(value) if value is not None else None  # type: ignore[arg-type]


def _details(value: Details) -> object:
    match value:
        case DoctorAppointmentValue():
            return DoctorAppointmentDetails(
                specialty=value.specialty,
                reason=value.reason,
                preferred_times=[TimeWindow.from_value(w) for w in value.preferred_times],
                address=_address(value.address),
                home_visit=value.home_visit,
                scheduled_at=value.scheduled_at,
                provider_id=value.provider_id,
            )
        case MedicationsValue():
            return MedicationsDetails(
                items=[
                    MedicationItem(name=i.name, dosage=i.dosage, quantity=i.quantity)
                    for i in value.items
                ],
                delivery_address=_address(value.delivery_address),
                comment=value.comment,
                provider_id=value.provider_id,
            )
        case LabTestsValue():
            return LabTestsDetails(
                tests=value.tests,
                preferred_times=[TimeWindow.from_value(w) for w in value.preferred_times],
                home_visit=value.home_visit,
                address=_address(value.address),
                scheduled_at=value.scheduled_at,
                provider_id=value.provider_id,
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
    kind_label: str = label_of("kind", "`kind` in the caller's language.")
    status: RequestStatus = strawberry.field(description="Where it is now.")
    status_label: str = label_of(
        "status", "`status` in the caller's language, as the SMS and emails word it."
    )
    created_at: datetime = strawberry.field(description="When it was filed.")
    updated_at: datetime = strawberry.field(description="Last change.")
    anonymised_at: datetime | None = strawberry.field(
        description="When the owner deleted the account: free text, phones, addresses, IBAN, "
        "comments and files were erased then, the rest kept for the insurer; null otherwise."
    )
    due_at: datetime | None = strawberry.field(
        description="When the contact centre's target that applies now falls due: the first "
        "response while SUBMITTED, the outcome while IN_PROGRESS (each kind's targets are "
        "settings; time waiting for the person in NEEDS_INFO is added back). Null when none "
        "applies: NEEDS_INFO (the clock is paused), SCHEDULED, APPROVED or closed."
    )
    user_id: strawberry.Private[ObjectId]
    policy_id: strawberry.Private[ObjectId]
    assignee_id: strawberry.Private[ObjectId | None]
    # None when a page read only the list's fields (`SUMMARY_FIELDS`).
    document: strawberry.Private[RequestDocument | None]

    @classmethod
    def from_document(cls, document: RequestDocument) -> Self:
        return cls._of(document, document)

    @classmethod
    def from_summary(cls, summary: RequestSummary) -> Self:
        return cls._of(summary, None)

    @classmethod
    def _of(cls, shown: RequestDocument | RequestSummary, document: RequestDocument | None) -> Self:
        return cls(
            id=str(shown.id),
            number=shown.number,
            kind=shown.kind,
            status=shown.status,
            created_at=shown.created_at,
            updated_at=shown.updated_at,
            anonymised_at=shown.anonymised_at,
            due_at=shown.due_at,
            user_id=shown.user_id,
            policy_id=shown.policy_id,
            assignee_id=shown.assignee_id,
            document=document,
        )

    def _whole(self) -> RequestDocument:
        """The whole document, which a page reads when a field outside `SUMMARY_FIELDS` is
        selected (`request_connection`)."""
        if self.document is None:
            raise RuntimeError(f"request {self.number} was read without its document")
        return self.document

    @strawberry.field(description="Whether `dueAt` has passed.")
    def overdue(self) -> bool:
        return due.overdue(self.due_at)

    # The parts below are built only when asked for: a list of requests usually shows
    # the number and status of each, not every comment of twenty requests.

    @strawberry.field(description="The details of its kind.")
    def details(self) -> RequestDetails:
        return _details(self._whole().details)  # type: ignore[return-value]

    @strawberry.field(
        description="What the contact centre arranged (where and when, what was approved "
        "and paid), of the request's kind; null until it is recorded."
    )
    def outcome(self, info: Info) -> RequestOutcome | None:
        arranged = self._whole().outcome
        return _outcome(arranged, info) if arranged is not None else None  # type: ignore[return-value]

    @strawberry.field(
        description="What the caller may do to it now: the next statuses with the fields "
        "each needs, cancelling, commenting, taking or releasing it. A mutation not listed "
        "would be refused (e.g. `TRANSITION_NOT_ALLOWED`)."
    )
    def available_actions(self, info: Info) -> list[AvailableAction]:
        viewer = info.context.caller.user
        if viewer is None:
            return []
        return [
            AvailableAction(
                action=allowed.action,
                status=allowed.status,
                required_fields=list(allowed.required_fields),
            )
            for allowed in actions_for(self._whole(), viewer)
        ]

    @strawberry.field(description="Every status, oldest first.")
    def history(self) -> list[StatusChange]:
        return [StatusChange.from_value(change) for change in self._whole().status_changes()]

    @strawberry.field(
        description="Messages, oldest first; staff also see internal notes (`internal`)."
    )
    def comments(self, info: Info) -> list[Comment]:
        shown = self._whole().comments_for(staff=_staff_reads(info))
        return [Comment.from_value(comment, info) for comment in shown]

    @strawberry.field(
        description="Who in the contact centre handles it (`assignRequest`); null while nobody "
        "does. The person sees only the first name."
    )
    async def assignee(self, info: Info) -> RequestAssignee | None:
        assignee_id = self.assignee_id
        user = await info.context.loaders.user.load(assignee_id) if assignee_id else None
        if user is None:
            return None
        staff = _staff_reads(info)
        return RequestAssignee(
            first_name=user.profile.first_name, user=User.from_document(user) if staff else None
        )

    @strawberry.field(description="Files filed with it.")
    def attachments(self, info: Info) -> list[Attachment]:
        return [Attachment.from_value(a, info) for a in self._whole().attachments]

    def _policy(self, context: Context) -> Policy | Awaitable[Policy | None] | None:
        """Synchronous when the card is known already (see `Loaders.card_of_request`):
        graphql-core awaits only the answers that are awaitable. It runs for each request
        of a page: the executor calls it with the context, without a resolve info."""
        loaders, viewer = context.loaders, context.caller.user
        card = loaders.card_of_request(viewer, self.user_id, self.policy_id)
        if isinstance(card, PolicyDocument):
            return self._card_shown(loaders, viewer, card)
        return _then(card, lambda loaded: self._card_shown(loaders, viewer, loaded))

    policy = strawberry.field(
        with_context(_policy),
        description="The card it was filed against; null for its member once the card is "
        "no longer theirs to see (a child's card after the 18th birthday).",
        graphql_type=Policy | None,
    )

    def _card_shown(
        self, loaders: Loaders, viewer: UserDocument | None, card: PolicyDocument | None
    ) -> Policy | None:
        """``card`` as this request shows it, with the operation's loaders and viewer."""
        if card is None:
            return None
        staff = viewer is not None and viewer.is_staff
        # Read once the card is loaded: loading the owner's cards settles the active one.
        active = not staff and viewer is not None and viewer.active_policy_id == self.policy_id
        return card_view(loaders, card, active=active, staff=staff)

    @strawberry.field(
        description="Whether the card's programme covers a request like this one today (as "
        "`coverageCheck` answers, with a reimbursement's amount in UAH): what `createRequest` "
        "answers before any decision. Null for a callback, and when `policy` is null."
    )
    async def coverage_check(self, info: Info) -> CoverageCheck | None:
        details = self._whole().details
        kind = coverage.request_benefit(details)
        if kind is None:
            return None
        viewer = info.context.caller.user
        card = info.context.loaders.card_of_request(viewer, self.user_id, self.policy_id)
        if not isinstance(card, PolicyDocument):
            card = await card
        if card is None:
            return None
        amount = (
            Decimal(details.amount)
            if isinstance(details, ReimbursementValue) and details.currency == "UAH"
            else None
        )
        return await checked(info, card, kind, amount)

    @strawberry.field(description="Who filed it; staff see it for any request.")
    async def applicant(self, info: Info) -> User | None:
        user = await info.context.loaders.user.load(self.user_id)
        return User.from_document(user) if user else None

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """The caller's own requests; staff see any. One query for all the ids of an
        operation (`a: node(id: …) b: node(id: …)` included)."""
        viewer = info.context.caller.user
        ids = [object_id(node_id) for node_id in node_ids]
        wanted = [request_id for request_id in ids if request_id]
        loaded = await info.context.loaders.readable_requests(viewer).load_many(wanted)
        found = dict(zip(wanted, loaded, strict=True))
        return [
            cls.from_document(document) if request_id and (document := found[request_id]) else None
            for request_id in ids
        ]


# The fields of `Request` that a `RequestSummary` serves: a page selecting no other reads
# only the summary's fields of each request.
SUMMARY_FIELDS = frozenset(
    {
        "__typename",
        "id",
        "number",
        "kind",
        "status",
        "createdAt",
        "updatedAt",
        "anonymisedAt",
        "dueAt",
        "overdue",
        "assignee",
        "policy",
        "applicant",
    }
)


@strawberry.type(description="One request in a list.")
class RequestEdge:
    node: Request = strawberry.field(description="The request.")
    # What the cursor's position is in: "" newest first, else the order's tag (`DUE_CURSOR`).
    order: strawberry.Private[str]

    @strawberry.field(description="Pass as `after` to continue after this one.")
    def cursor(self) -> str:
        """Encoded when asked for: most pages show requests without their cursors."""
        at = self.node.created_at if not self.order else self.node.due_at
        return encode_time_cursor(at, self.node.id, self.order)  # type: ignore[arg-type]


@strawberry.type(description="A page of requests, newest first unless ordered otherwise.")
class RequestConnection(Counted):
    edges: list[RequestEdge] = strawberry.field(description="The requests of this page.")
    page_info: PageInfo = strawberry.field(description="Where the page sits.")


@strawberry.type(description="How many open requests have one status.")
class StatusCount:
    status: RequestStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(
        description="How many open requests have it, up to `QueueCounts.limit`."
    )


@strawberry.type(description="How many open requests are of one kind.")
class KindCount:
    kind: RequestKind = strawberry.field(description="The kind.")
    count: int = strawberry.field(
        description="How many open requests are of it, up to `QueueCounts.limit`."
    )


@strawberry.type(
    description="The queue in numbers, for a dashboard: open requests (SUBMITTED, "
    "IN_PROGRESS, NEEDS_INFO, SCHEDULED, APPROVED) only; closed ones are "
    "`requestQueue(filter: {statuses: …}) { totalCount }`. Each number is one count the "
    "indexes serve, and stops at `limit`, so the cost does not grow with the number of "
    'requests filed nor with a backlog: show a number equal to `limit` as "1000+".'
)
class QueueCounts:
    viewer: strawberry.Private[UserDocument]
    limit: int = strawberry.field(
        description="Where each count stops (`KABINET_QUEUE_COUNT_LIMIT`): a number equal to "
        "it means at least that many."
    )

    @strawberry.field(description="Per open status, in the lifecycle's order.")
    async def by_status(self) -> list[StatusCount]:
        counted = await requests.count_open_each(
            self.viewer, "status", requests.OPEN, limit=self.limit
        )
        return [StatusCount(status=status, count=count) for status, count in counted]

    @strawberry.field(description="Open requests per kind.")
    async def by_kind(self) -> list[KindCount]:
        counted = await requests.count_open_each(
            self.viewer, "kind", list(RequestKindValue), limit=self.limit
        )
        return [KindCount(kind=kind, count=count) for kind, count in counted]

    @strawberry.field(description="Past their due time (`Request.overdue`), up to `limit`.")
    async def overdue(self) -> int:
        return await requests.count_overdue(self.viewer, limit=self.limit)

    @strawberry.field(description="Open requests you handle (`Request.assignee`), up to `limit`.")
    async def assigned_to_me(self) -> int:
        return await requests.count_open(
            self.viewer, {"assignee_id": self.viewer.id}, limit=self.limit
        )
