"""The queries and mutations on requests: the queue, filing, cancelling, commenting,
changing a status and assigning."""

from typing import Annotated

import strawberry
from beanie import PydanticObjectId

from kabinet.clock import aware
from kabinet.documents import RequestDocument, UserDocument
from kabinet.resolvers import errors as domain
from kabinet.resolvers import requests
from kabinet.schema.context import Info
from kabinet.schema.enums import RequestOrder
from kabinet.schema.errors import (
    AssignmentConflict,
    InputError,
    NotAllowed,
    NotFound,
    RateLimited,
    invalid_cursor,
    to_graphql,
)
from kabinet.schema.ids import by_id, filter_id
from kabinet.schema.pagination import (
    PageInfo,
    decode_time_cursor,
    page_size,
    selected_at,
)
from kabinet.schema.permissions import SignedIn, Staff, viewer
from kabinet.schema.requests.inputs import (
    AddCommentInput,
    AssignRequestInput,
    CancelRequestInput,
    ChangeRequestStatusInput,
    CreateRequestInput,
    RecordCallAttemptInput,
    RecordPayoutInput,
    RequestFilter,
    UploadLabResultsInput,
    read_uploads,
    request_form,
)
from kabinet.schema.requests.types import (
    SUMMARY_FIELDS,
    QueueCounts,
    Request,
    RequestConnection,
    RequestEdge,
)


async def request_connection(
    info: Info,
    *,
    account: PydanticObjectId | None = None,
    first: int | None,
    after: str | None,
    filter: RequestFilter | None,
    order: requests.RequestOrder = requests.RequestOrder.NEWEST,
) -> RequestConnection:
    """A page of the requests the caller may read (`requests.reading.readable`); of one
    ``account`` when given (`User.requests`)."""
    given = filter or RequestFilter()
    filters = requests.RequestFilter(
        owner_id=account,
        kinds=given.kinds or None,
        statuses=given.statuses or None,
        policy_id=filter_id(given.policy_id, "Policy"),
        created_from=aware(given.created_from) if given.created_from else None,
        created_to=aware(given.created_to) if given.created_to else None,
        assignees=_assignees(given, info.context.caller.user),
        overdue=bool(given.overdue),
    )
    tag = DUE_CURSOR if order is requests.RequestOrder.DUE_SOONEST else ""
    position = decode_time_cursor(after, tag)
    if after is not None and position is None:
        raise invalid_cursor(info.context.caller.locale)
    listing = requests.RequestListing(
        viewer=info.context.caller.user,
        filters=filters,
        first=page_size(first),
        after=position,
        order=order,
    )
    # Whole documents only when a selected field needs more than a summary.
    if selected_at(info, ("edges", "node")) <= SUMMARY_FIELDS:
        page = await requests.list_request_summaries(listing)
        nodes = [Request.from_summary(summary) for summary in page.items]
    else:
        page = await requests.list_requests(listing)
        nodes = [Request.from_document(document) for document in page.items]
    edges = [RequestEdge(node=node, order=tag) for node in nodes]
    ends = [edges[0].cursor(), edges[-1].cursor()] if edges else []
    return RequestConnection(
        edges=edges,
        page_info=PageInfo.of(ends, has_next=page.has_next, after=after),
        count=page.count,
    )


# What a cursor of the queue by due time starts with (`encode_time_cursor`).
DUE_CURSOR = "due:"


def _assignees(
    given: RequestFilter, user: UserDocument | None
) -> tuple[PydanticObjectId | None, ...]:
    """The filter's conditions on who handles the requests (None: nobody); `false` and
    null ask nothing."""
    wanted: list[PydanticObjectId | None] = []
    if given.assigned_to_me and user is not None:
        wanted.append(user.id)
    if given.unassigned:
        wanted.append(None)
    if given.assignee_id is not None:
        wanted.append(filter_id(given.assignee_id, "User"))
    return tuple(wanted)


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


RecordCallAttemptResult = Annotated[
    Request | NotFound | NotAllowed | InputError,
    strawberry.union(
        "RecordCallAttemptResult", description="The request with the attempt, or why not."
    ),
]

UploadLabResultsResult = Annotated[
    Request | NotFound | NotAllowed | InputError,
    strawberry.union(
        "UploadLabResultsResult", description="The request with the results, or why not."
    ),
]

RecordPayoutResult = Annotated[
    Request | NotFound | NotAllowed | InputError,
    strawberry.union("RecordPayoutResult", description="The request with the payout, or why not."),
]

AssignRequestResult = Annotated[
    Request | NotFound | NotAllowed | InputError | AssignmentConflict,
    strawberry.union(
        "AssignRequestResult",
        description="The request with its new assignee, or why not (AssignmentConflict: "
        "another staff member changed it first).",
    ),
]


def _answer(info: Info, outcome: RequestDocument | domain.DomainError) -> object:
    if isinstance(outcome, RequestDocument):
        return Request.from_document(outcome)
    return to_graphql(outcome, info.context.caller.locale)


@strawberry.type
class RequestsQuery:
    @strawberry.field(
        permission_classes=[Staff],
        description="Staff: every request, newest first (or soonest due: `orderBy`), with filters.",
    )
    async def request_queue(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: RequestFilter | None = None,
        order_by: Annotated[
            RequestOrder,
            strawberry.argument(
                description="NEWEST (the default) or DUE_SOONEST; a cursor (`after`) continues "
                "the order it came from."
            ),
        ] = requests.RequestOrder.NEWEST,
    ) -> RequestConnection:
        return await request_connection(
            info, first=first, after=after, filter=filter, order=order_by
        )

    @strawberry.field(
        permission_classes=[Staff],
        description="Staff: how many requests there are by status, by kind, overdue and "
        "assigned to you, for a dashboard. Each number is one index-backed count up to "
        "`QueueCounts.limit`, counted only when asked for.",
    )
    def queue_counts(self, info: Info) -> QueueCounts:
        limit = info.context.services.settings.queue_count_limit
        return QueueCounts(viewer=viewer(info), limit=limit)


@strawberry.type
class RequestsMutation:
    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="File a request against the active card. The same "
        "`idempotencyKey` from the same account returns the first request instead of a new one.",
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
        user = viewer(info)
        outcome = await requests.create_request(
            services=info.context.services,
            caller=info.context.caller,
            user=user,
            form=await request_form(input),
            idempotency_key=idempotency_key,
            linked=lambda: info.context.loaders.linked_of(user).load(user),
            own_contacts=lambda: info.context.loaders.contacts_of(user).load(user.id),  # type: ignore[arg-type]
        )
        return _answer(info, outcome)

    @strawberry.mutation(
        permission_classes=[SignedIn], description="Cancel your request before the work is done."
    )
    async def cancel_request(self, info: Info, input: CancelRequestInput) -> CancelRequestResult:
        user = viewer(info)
        outcome = await by_id(
            input.request_id,
            "Request",
            lambda request_id: requests.cancel_request(
                services=info.context.services,
                user=user,
                request_id=request_id,
                reason=input.reason,
            ),
        )
        return _answer(info, outcome)

    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Write on a request, with files; the owner's answer to NEEDS_INFO returns "
        "it to IN_PROGRESS.",
    )
    async def add_comment(self, info: Info, input: AddCommentInput) -> AddCommentResult:
        user = viewer(info)
        attachments = await read_uploads(input.attachments)
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
                internal=bool(input.internal),
            ),
        )
        return _answer(info, outcome)

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Staff: change a request's status (lifecycle in the docs).",
    )
    async def change_request_status(
        self, info: Info, input: ChangeRequestStatusInput
    ) -> ChangeRequestStatusResult:
        user = viewer(info)
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
                outcome=input.outcome.form() if input.outcome else None,
            ),
        )
        return _answer(info, outcome)

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Staff: take a request (operator: an unassigned one, for yourself), "
        "release it (`operatorId: null`; operator: your own only) or, as an administrator, "
        "assign it to any staff member. Two taking it at once: one wins, the other gets "
        "`AssignmentConflict`.",
    )
    async def assign_request(self, info: Info, input: AssignRequestInput) -> AssignRequestResult:
        user = viewer(info)
        assignee_id = filter_id(input.operator_id, "User")
        outcome = await by_id(
            input.request_id,
            "Request",
            lambda request_id: requests.assign_request(
                caller=info.context.caller,
                user=user,
                request_id=request_id,
                assignee_id=assignee_id,
            ),
        )
        return _answer(info, outcome)

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Staff: record a call made for a callback request (reached, no answer, "
        "wrong number) and when the next one is planned; the person sees them in "
        "`Request.outcome`.",
    )
    async def record_call_attempt(
        self, info: Info, input: RecordCallAttemptInput
    ) -> RecordCallAttemptResult:
        user = viewer(info)
        next_attempt_at = input.next_attempt_at
        outcome = await by_id(
            input.request_id,
            "Request",
            lambda request_id: requests.record_call_attempt(
                caller=info.context.caller,
                user=user,
                request_id=request_id,
                result=input.result,
                next_attempt_at=aware(next_attempt_at) if next_attempt_at else None,
            ),
        )
        return _answer(info, outcome)

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Staff: upload a lab tests request's results (PDF, JPEG or PNG, a "
        "multipart request like `addComment`'s files); the person downloads them from "
        "`LabTestsOutcome.results` and is told they are ready.",
    )
    async def upload_lab_results(
        self, info: Info, input: UploadLabResultsInput
    ) -> UploadLabResultsResult:
        user = viewer(info)
        results = await read_uploads(input.files)
        outcome = await by_id(
            input.request_id,
            "Request",
            lambda request_id: requests.upload_lab_results(
                services=info.context.services,
                caller=info.context.caller,
                user=user,
                request_id=request_id,
                results=results,
            ),
        )
        return _answer(info, outcome)

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Staff: the payout of an approved reimbursement (PENDING, or PAID with "
        "its date and reference); the person sees it in `ReimbursementOutcome.payout` and is "
        "told when it is paid.",
    )
    async def record_payout(self, info: Info, input: RecordPayoutInput) -> RecordPayoutResult:
        user = viewer(info)
        outcome = await by_id(
            input.request_id,
            "Request",
            lambda request_id: requests.record_payout(
                services=info.context.services,
                caller=info.context.caller,
                user=user,
                request_id=request_id,
                form=input.form(),
            ),
        )
        return _answer(info, outcome)
