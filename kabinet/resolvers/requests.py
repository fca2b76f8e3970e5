"""Requests (guide section 4): filing the five kinds, their lifecycle, and the lists.

The lifecycle is one table, `TRANSITIONS`, enforced in `_transition`. Each change
is a single atomic update of the status, the history entry and a version number,
conditional on the version read, so two operators cannot overwrite each other.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from beanie import PydanticObjectId, UpdateResponse
from beanie.operators import Inc, Push, Set
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from stdnum import iban as stdnum_iban

from kabinet import faults
from kabinet.auth import rate_limit
from kabinet.auth.context import Caller
from kabinet.clock import now
from kabinet.config import Fault
from kabinet.documents import (
    Address,
    AuditAction,
    CounterDocument,
    RequestDocument,
    RequestKind,
    RequestStatus,
    UserDocument,
)
from kabinet.documents.request import (
    CallbackDetails,
    Comment,
    Details,
    DoctorAppointmentDetails,
    LabTestsDetails,
    MedicationItem,
    MedicationsDetails,
    ReimbursementDetails,
    StatusChange,
    TimeWindow,
    one_request,
)
from kabinet.i18n import Term
from kabinet.notify.templates import STATUS_LABELS
from kabinet.resolvers import audit, contacts, files, notifications, pages, policies
from kabinet.resolvers.errors import (
    ErrorCode,
    FieldErrorCode,
    FieldProblem,
    InvalidInput,
    NotAllowed,
    NotFound,
    RateLimited,
)
from kabinet.resolvers.files import IncomingFile
from kabinet.resolvers.validation import Checked, parse_idempotency_key, parse_phone
from kabinet.services import Services

CURRENCIES = ("UAH", "USD", "EUR")
MAX_WINDOWS = 10
MAX_ITEMS = 30
MAX_QUANTITY = 1000
MAX_AMOUNT = Decimal("10000000")
MAX_COMMENTS = 100
TRANSITION_ATTEMPTS = 3
# A comment is the member's own text: worth more attempts than a status change.
COMMENT_ATTEMPTS = 10
CLOSED = frozenset({RequestStatus.COMPLETED, RequestStatus.REJECTED, RequestStatus.CANCELLED})


class Actor(StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"


S = RequestStatus
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


# ---- forms: what a client sent, before validation


@dataclass(frozen=True, slots=True)
class DoctorAppointmentForm:
    specialty: str
    reason: str | None
    preferred_times: list[TimeWindow]
    home_visit: bool
    address_id: str | None


@dataclass(frozen=True, slots=True)
class MedicationsForm:
    items: list[MedicationItem]
    delivery_address_id: str | None
    comment: str | None
    prescriptions: list[IncomingFile]


@dataclass(frozen=True, slots=True)
class LabTestsForm:
    tests: list[str]
    preferred_times: list[TimeWindow]
    home_visit: bool
    address_id: str | None


@dataclass(frozen=True, slots=True)
class ReimbursementForm:
    amount: str
    currency: str | None
    service_date: date
    description: str
    iban: str
    documents: list[IncomingFile]


@dataclass(frozen=True, slots=True)
class CallbackForm:
    phone: str | None
    preferred_time: TimeWindow | None
    topic: str | None


RequestForm = (
    DoctorAppointmentForm | MedicationsForm | LabTestsForm | ReimbursementForm | CallbackForm
)


@dataclass
class _Validation:
    checked: Checked = field(default_factory=Checked)
    files: list[IncomingFile] = field(default_factory=list)

    def fail(self, path: str, code: FieldErrorCode, **params: object) -> None:
        self.checked.problems.append(FieldProblem(path, code, params))


# ---- filing


async def create_request(
    *,
    services: Services,
    caller: Caller,
    user: UserDocument,
    form: RequestForm,
    idempotency_key: str | None,
) -> RequestDocument | InvalidInput | NotAllowed | RateLimited:
    """File a request against the active card; the same idempotency key returns the first."""
    key = parse_idempotency_key(idempotency_key, "idempotencyKey")
    if isinstance(key, FieldProblem):
        return InvalidInput([key])
    if key is not None:
        existing = await RequestDocument.find_one({"user_id": user.id, "idempotency_key": key})
        if existing is not None:
            return existing
    if exceeded := await services.rate_limits.hit(rate_limit.REQUESTS_PER_ACCOUNT, str(user.id)):
        return RateLimited(exceeded.retry_after_seconds)
    linked = await policies.linked(user=user)
    policy = linked.active
    if policy is None and linked.policies:
        return NotAllowed(ErrorCode.POLICY_NOT_ACTIVE, "error.no_policy_in_force")
    if policy is None:
        return NotAllowed(ErrorCode.NO_ACTIVE_POLICY, "error.no_active_policy")
    validation = _Validation()
    details = await _details(form, user, validation, policy.valid_from, policy.valid_to)
    if validation.checked.problems or details is None:
        return InvalidInput(validation.checked.problems)
    request_id = PydanticObjectId()
    attachments = await files.store(validation.files, owner_id=user.id, request_id=request_id)  # type: ignore[arg-type]
    moment = now()
    request = RequestDocument(
        id=request_id,
        number=await _next_number(moment.year),
        user_id=user.id,  # type: ignore[arg-type]
        policy_id=policy.id,  # type: ignore[arg-type]
        kind=details.kind,
        details=details,
        attachments=attachments,
        history=[StatusChange(status=S.SUBMITTED, at=moment, by_operator=False, actor_id=user.id)],
        idempotency_key=key,
        created_at=moment,
        updated_at=moment,
    )
    try:
        await request.insert()
    except DuplicateKeyError:
        # The same key raced in from a second request: keep the first one, drop our files.
        await files.delete(attachments)
        first = await RequestDocument.find_one({"user_id": user.id, "idempotency_key": key})
        if first is None:
            raise
        return first
    except BaseException:
        await files.delete(attachments)
        raise
    return request


def status_label(request: RequestDocument) -> Term:
    """The request's status as a person reads it, in the message's language."""
    return Term(STATUS_LABELS[request.status])


async def _next_number(year: int) -> str:
    counter = await CounterDocument.get_pymongo_collection().find_one_and_update(
        {"_id": f"requests-{year}"},
        {"$inc": {"value": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    return f"R-{year}-{counter['value']:06d}"


async def _details(
    form: RequestForm,
    user: UserDocument,
    validation: _Validation,
    valid_from: date,
    valid_to: date,
) -> Details | None:
    checked = validation.checked
    match form:
        case DoctorAppointmentForm():
            specialty = checked.text(form.specialty, "specialty", max_length=100, required=True)
            reason = checked.text(form.reason, "reason", max_length=1000, required=False)
            windows = _windows(form.preferred_times, "preferredTimes", validation)
            address = _visit_address(user, form.home_visit, form.address_id, validation)
            return DoctorAppointmentDetails(
                specialty=specialty or "",
                reason=reason,
                preferred_times=windows,
                home_visit=form.home_visit,
                address=address,
            )
        case MedicationsForm():
            items = _medication_items(form.items, validation)
            address = _own_address(user, form.delivery_address_id, "deliveryAddressId", validation)
            comment = checked.text(form.comment, "comment", max_length=1000, required=False)
            _take_files(form.prescriptions, "prescriptions", validation, required=False)
            return MedicationsDetails(items=items, delivery_address=address, comment=comment)
        case LabTestsForm():
            tests = _list_of_texts(form.tests, "tests", validation)
            windows = _windows(form.preferred_times, "preferredTimes", validation)
            address = _visit_address(user, form.home_visit, form.address_id, validation)
            return LabTestsDetails(
                tests=tests, preferred_times=windows, home_visit=form.home_visit, address=address
            )
        case ReimbursementForm():
            amount = _amount(form.amount, validation)
            currency = (form.currency or "UAH").strip().upper()
            if currency not in CURRENCIES:
                validation.fail(
                    "currency", FieldErrorCode.CURRENCY_INVALID, allowed=", ".join(CURRENCIES)
                )
            if form.service_date > now().date():
                validation.fail("serviceDate", FieldErrorCode.SERVICE_DATE_IN_FUTURE)
            elif not valid_from <= form.service_date <= valid_to:
                validation.fail(
                    "serviceDate",
                    FieldErrorCode.SERVICE_DATE_OUTSIDE_POLICY,
                    valid_from=valid_from,
                    valid_to=valid_to,
                )
            description = checked.text(
                form.description, "description", max_length=2000, required=True
            )
            iban = _iban(form.iban, validation)
            _take_files(form.documents, "documents", validation, required=True)
            return ReimbursementDetails(
                amount=amount or "0",
                currency=currency,
                service_date=form.service_date,
                description=description or "",
                iban=iban or "",
            )
        case CallbackForm():
            phone = await _callback_phone(user, form.phone, validation)
            window = None
            if form.preferred_time is not None:
                window = (_windows([form.preferred_time], "preferredTime", validation) or [None])[0]
            topic = checked.text(form.topic, "topic", max_length=500, required=False)
            return CallbackDetails(phone=phone or "", preferred_time=window, topic=topic)


def _windows(windows: list[TimeWindow], path: str, validation: _Validation) -> list[TimeWindow]:
    if not windows:
        validation.fail(path, FieldErrorCode.WINDOWS_REQUIRED)
    if len(windows) > MAX_WINDOWS:
        validation.fail(path, FieldErrorCode.TOO_MANY_ITEMS, max_items=MAX_WINDOWS)
    moment = now()
    for index, window in enumerate(windows):
        if not moment < window.start < window.end:
            validation.fail(f"{path}[{index}]", FieldErrorCode.WINDOW_INVALID)
    return windows


def _own_address(
    user: UserDocument, address_id: str | None, path: str, validation: _Validation
) -> Address | None:
    if address_id is None:
        return None
    for address in user.addresses.values():
        if str(address.id) == address_id:
            return address
    validation.fail(path, FieldErrorCode.ADDRESS_UNKNOWN)
    return None


def _visit_address(
    user: UserDocument, home_visit: bool, address_id: str | None, validation: _Validation
) -> Address | None:
    if home_visit and address_id is None:
        validation.fail("addressId", FieldErrorCode.ADDRESS_REQUIRED)
        return None
    return _own_address(user, address_id, "addressId", validation)


def _medication_items(items: list[MedicationItem], validation: _Validation) -> list[MedicationItem]:
    if not items:
        validation.fail("items", FieldErrorCode.ITEMS_REQUIRED)
    if len(items) > MAX_ITEMS:
        validation.fail("items", FieldErrorCode.TOO_MANY_ITEMS, max_items=MAX_ITEMS)
    cleaned = []
    for index, item in enumerate(items):
        checked = validation.checked
        name = checked.text(item.name, f"items[{index}].name", max_length=200, required=True)
        dosage = checked.text(item.dosage, f"items[{index}].dosage", max_length=100, required=False)
        if not 1 <= item.quantity <= MAX_QUANTITY:
            validation.fail(
                f"items[{index}].quantity",
                FieldErrorCode.QUANTITY_INVALID,
                max_quantity=MAX_QUANTITY,
            )
        cleaned.append(MedicationItem(name=name or "", dosage=dosage, quantity=item.quantity))
    return cleaned


def _list_of_texts(values: list[str], path: str, validation: _Validation) -> list[str]:
    if not values:
        validation.fail(path, FieldErrorCode.ITEMS_REQUIRED)
    if len(values) > MAX_ITEMS:
        validation.fail(path, FieldErrorCode.TOO_MANY_ITEMS, max_items=MAX_ITEMS)
    texts = [
        validation.checked.text(value, f"{path}[{index}]", max_length=200, required=True)
        for index, value in enumerate(values)
    ]
    return [text for text in texts if text]


_AMOUNT = re.compile(r"^[0-9]{1,9}([.,][0-9]{1,2})?$")


def _amount(typed: str, validation: _Validation) -> str | None:
    text = typed.strip().replace(" ", "")
    try:
        amount = Decimal(text.replace(",", ".")) if _AMOUNT.match(text) else None
    except InvalidOperation:
        amount = None
    if amount is None or not Decimal(0) < amount <= MAX_AMOUNT:
        validation.fail("amount", FieldErrorCode.AMOUNT_INVALID)
        return None
    return f"{amount:.2f}"


def _iban(typed: str, validation: _Validation) -> str | None:
    """A Ukrainian IBAN as python-stdnum judges it: the length and format the IBAN registry
    gives Ukraine, then the ISO 13616 mod-97 check digits. The shape is judged with the
    check digits recomputed, so a typo in a digit is told apart from a wrong number."""
    compact = stdnum_iban.compact("".join(typed.split()))
    if not (compact.startswith("UA") and compact.isascii() and compact.isalnum()) or (
        not stdnum_iban.is_valid(compact[:2] + stdnum_iban.calc_check_digits(compact) + compact[4:])
    ):
        validation.fail("iban", FieldErrorCode.IBAN_INVALID)
        return None
    if not stdnum_iban.is_valid(compact):
        validation.fail("iban", FieldErrorCode.IBAN_CHECKSUM_INVALID)
        return None
    return compact


def _take_files(
    incoming: list[IncomingFile], path: str, validation: _Validation, *, required: bool
) -> None:
    validation.checked.problems.extend(files.file_problems(incoming, path, required=required))
    validation.files.extend(incoming)


async def _callback_phone(
    user: UserDocument, typed: str | None, validation: _Validation
) -> str | None:
    if typed and typed.strip():
        phone = parse_phone(typed, "phone")
        if isinstance(phone, FieldProblem):
            validation.checked.problems.append(phone)
            return None
        return phone
    if phone := await contacts.primary_phone(user.id):
        return phone
    validation.fail("phone", FieldErrorCode.PHONE_REQUIRED)
    return None


# ---- reading


def _readable_by(user: UserDocument) -> dict[str, object]:
    """Staff see every request; a customer only their own (someone else's is not found)."""
    return {} if user.is_staff else {"user_id": user.id}


async def find_request(user: UserDocument, request_id: PydanticObjectId) -> RequestDocument | None:
    return await RequestDocument.find_one({"_id": request_id, **_readable_by(user)})


async def find_requests(
    user: UserDocument, request_ids: Sequence[PydanticObjectId]
) -> list[RequestDocument | None]:
    """The requests ``user`` may read among ``request_ids``, in their order: one query."""
    query = {"_id": {"$in": list(request_ids)}, **_readable_by(user)}
    found = {request.id: request for request in await RequestDocument.find(query).to_list()}
    return [found.get(request_id) for request_id in request_ids]


@dataclass(frozen=True, slots=True)
class RequestFilter:
    kinds: list[RequestKind] | None = None
    statuses: list[RequestStatus] | None = None
    policy_id: PydanticObjectId | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


async def list_requests(
    *,
    owner_id: PydanticObjectId | None,
    filters: RequestFilter,
    first: int,
    after: pages.After | None,
) -> pages.Page[RequestDocument]:
    """Newest first, by (created_at, id) so the order is stable under equal times."""
    query: dict[str, object] = {}
    if owner_id is not None:
        query["user_id"] = owner_id
    if filters.kinds:
        query["kind"] = {"$in": [kind.value for kind in filters.kinds]}
    if filters.statuses:
        query["status"] = {"$in": [status.value for status in filters.statuses]}
    if filters.policy_id is not None:
        query["policy_id"] = filters.policy_id
    created: dict[str, datetime] = {}
    if filters.created_from is not None:
        created["$gte"] = filters.created_from
    if filters.created_to is not None:
        created["$lte"] = filters.created_to
    if created:
        query["created_at"] = created
    return await pages.newest_first(
        RequestDocument, query, time_field="created_at", first=first, after=after
    )


# ---- lifecycle


async def change_status(
    *,
    services: Services,
    caller: Caller,
    user: UserDocument,
    request_id: PydanticObjectId,
    status: RequestStatus,
    comment: str | None,
    scheduled_at: datetime | None,
) -> RequestDocument | NotFound | NotAllowed | InvalidInput:
    """An operator moves a request along the lifecycle; audited."""
    request = await find_request(user, request_id)
    if request is None:
        return NotFound()
    checked = Checked()
    text = checked.text(comment, "comment", max_length=2000, required=False)
    if status is S.SCHEDULED and (scheduled_at is None or scheduled_at <= now()):
        checked.problems.append(FieldProblem("scheduledAt", FieldErrorCode.SCHEDULED_AT_REQUIRED))
    if checked.problems:
        return InvalidInput(checked.problems)
    changed = await _transition(request, status, Actor.OPERATOR, user, text, scheduled_at)
    if isinstance(changed, RequestDocument):
        faults.crash_at(services.settings, Fault.AFTER_STATUS_UPDATE)
        await _audit_staff_action(
            caller,
            AuditAction.REQUEST_STATUS_CHANGED,
            changed,
            before={"status": request.status.value},
            after={"status": status.value},
        )
        await notifications.announce_pending(services, changed)
    return changed


async def cancel_request(
    *, user: UserDocument, request_id: PydanticObjectId, reason: str | None
) -> RequestDocument | NotFound | NotAllowed | InvalidInput:
    """The owner cancels before the work is done."""
    request = await RequestDocument.find_one({"_id": request_id, "user_id": user.id})
    if request is None:
        return NotFound()
    checked = Checked()
    text = checked.text(reason, "reason", max_length=2000, required=False)
    if checked.problems:
        return InvalidInput(checked.problems)
    return await _transition(request, S.CANCELLED, Actor.CUSTOMER, user, text, None)


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
) -> RequestDocument | NotAllowed:
    """The one place the lifecycle table is enforced; one atomic, version-guarded update.
    A conflict is read again: a comment written meanwhile leaves the transition allowed,
    another status change may not."""
    for _ in range(TRANSITION_ATTEMPTS):
        if TRANSITIONS.get(request.status, {}).get(status) is not actor:
            return _not_allowed(request)
        updated = await _try_transition(request, status, actor, user, comment, scheduled_at)
        if updated is not None:
            return updated
        current = await RequestDocument.get(request.id)
        if current is None:
            break
        request = current
    return _not_allowed(request)


async def _try_transition(
    request: RequestDocument,
    status: RequestStatus,
    actor: Actor,
    user: UserDocument,
    comment: str | None,
    scheduled_at: datetime | None,
) -> RequestDocument | None:
    moment = now()
    changes: dict[str, object] = {"status": status, "updated_at": moment}
    if scheduled_at is not None and hasattr(request.details, "scheduled_at"):
        changes["details.scheduled_at"] = scheduled_at
    entry = StatusChange(
        status=status,
        at=moment,
        comment=comment,
        by_operator=actor is Actor.OPERATOR,
        actor_id=user.id,
    )
    pushes: dict[str, object] = {"history": entry}
    if actor is Actor.OPERATOR:  # announced to the owner: recorded in the same atomic update
        pushes["unannounced"] = entry.id
        changes["unannounced_since"] = moment
    # None when someone changed it since we read it.
    return await RequestDocument.find_one(  # type: ignore[return-value]
        {**one_request(request.id, request.user_id), "version": request.version}
    ).update(
        Set(changes),
        Push(pushes),
        Inc({"version": 1}),
        response_type=UpdateResponse.NEW_DOCUMENT,
    )


async def add_comment(
    *,
    services: Services,
    caller: Caller,
    user: UserDocument,
    request_id: PydanticObjectId,
    text: str,
    attachments: list[IncomingFile],
) -> RequestDocument | NotFound | NotAllowed | InvalidInput | RateLimited:
    """A message on a request; the owner's answer moves NEEDS_INFO back to IN_PROGRESS.
    A request holds at most MAX_COMMENTS, so reading one stays bounded."""
    request = await find_request(user, request_id)
    if request is None:
        return NotFound()
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
    stored = await files.store(attachments, owner_id=request.user_id, request_id=request.id)  # type: ignore[arg-type]
    moment = now()
    by_operator = user.is_staff
    comment = Comment(
        text=cleaned or "", at=moment, by_operator=by_operator, actor_id=user.id, attachments=stored
    )
    answer = StatusChange(
        status=S.IN_PROGRESS, at=moment, comment=cleaned, by_operator=False, actor_id=user.id
    )
    try:
        outcome = await _append_comment(request, comment, answer)
    except BaseException:
        await files.delete(stored)
        raise
    if not isinstance(outcome, RequestDocument):
        await files.delete(stored)
        return outcome
    if by_operator:  # staff writing to a person is a staff action
        await _audit_staff_action(
            caller, AuditAction.REQUEST_COMMENTED, outcome, after={"attachments": len(stored)}
        )
    return outcome


async def _append_comment(
    request: RequestDocument, comment: Comment, answer: StatusChange
) -> RequestDocument | NotFound | NotAllowed:
    """Add ``comment`` to an open request with room for it; the owner's comment also
    answers a NEEDS_INFO request (``answer``). Each attempt writes only if nobody changed
    the request since it was read (its `version`), so both are decided on what is stored;
    after a concurrent change it reads the request again and retries."""
    for _ in range(COMMENT_ATTEMPTS):
        if refused := _refuses_comments(request):
            return refused
        changes: dict[str, object] = {"updated_at": comment.at}
        pushes: dict[str, object] = {"comments": comment}
        if not comment.by_operator and request.status is S.NEEDS_INFO:
            changes["status"] = S.IN_PROGRESS
            pushes["history"] = answer
        updated = await RequestDocument.find_one(
            {**one_request(request.id, request.user_id), "version": request.version}
        ).update(
            Set(changes),
            Push(pushes),
            Inc({"version": 1}),
            response_type=UpdateResponse.NEW_DOCUMENT,
        )
        if updated is not None:
            return updated  # type: ignore[return-value]
        current = await RequestDocument.get(request.id)
        if current is None:
            return NotFound()
        request = current
    raise RequestKeptChanging(request.id)


class RequestKeptChanging(RuntimeError):
    """Every attempt to add a comment found the request changed since it was read: the
    caller gets an internal error and, as with any failed mutation, still holds the text."""

    def __init__(self, request_id: PydanticObjectId) -> None:
        super().__init__(f"request {request_id} changed on each of {COMMENT_ATTEMPTS} attempts")


def _refuses_comments(request: RequestDocument) -> NotAllowed | None:
    """Why ``request`` takes no more comments: closed, or holding MAX_COMMENTS already."""
    if request.status in CLOSED:
        return NotAllowed(
            ErrorCode.REQUEST_CLOSED, "error.request_closed", {"status": status_label(request)}
        )
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
