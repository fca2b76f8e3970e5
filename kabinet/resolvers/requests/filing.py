"""Filing a request (guide section 4): the five kinds, validated, against the active card."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kabinet.auth import rate_limit
from kabinet.auth.context import Caller
from kabinet.clock import now
from kabinet.documents import (
    Address,
    ContactDocument,
    CounterDocument,
    RequestDocument,
    RequestKind,
    RequestStatus,
    UserDocument,
)
from kabinet.documents.request import (
    CallbackDetails,
    Details,
    DoctorAppointmentDetails,
    LabTestsDetails,
    MedicationItem,
    MedicationsDetails,
    ReimbursementDetails,
    StatusChange,
    TimeWindow,
)
from kabinet.resolvers import contacts, files, policies, providers
from kabinet.resolvers.errors import (
    ErrorCode,
    FieldErrorCode,
    FieldProblem,
    InvalidInput,
    NotAllowed,
    RateLimited,
)
from kabinet.resolvers.files import IncomingFile
from kabinet.resolvers.requests import due
from kabinet.resolvers.validation import Checked, parse_idempotency_key, parse_phone
from kabinet.services import Services

CURRENCIES = ("UAH", "USD", "EUR")
MAX_WINDOWS = 10
MAX_ITEMS = 30
MAX_QUANTITY = 1000
MAX_AMOUNT = Decimal("10000000")

# ---- forms: what a client sent, before validation


@dataclass(frozen=True, slots=True)
class DoctorAppointmentForm:
    specialty: str
    reason: str | None
    preferred_times: list[TimeWindow]
    home_visit: bool
    address_id: str | None
    provider_id: PydanticObjectId | None = None


@dataclass(frozen=True, slots=True)
class MedicationsForm:
    items: list[MedicationItem]
    delivery_address_id: str | None
    comment: str | None
    prescriptions: list[IncomingFile]
    provider_id: PydanticObjectId | None = None


@dataclass(frozen=True, slots=True)
class LabTestsForm:
    tests: list[str]
    preferred_times: list[TimeWindow]
    home_visit: bool
    address_id: str | None
    provider_id: PydanticObjectId | None = None


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


async def create_request(
    *,
    services: Services,
    caller: Caller,
    user: UserDocument,
    form: RequestForm,
    idempotency_key: str | None,
    linked: Callable[[], Awaitable[policies.Linked]],
    own_contacts: Callable[[], Awaitable[list[ContactDocument]]],
) -> RequestDocument | InvalidInput | NotAllowed | RateLimited:
    """File a request against the active card; the same idempotency key returns the first.
    ``linked`` reads the account's cards (`policies.linked`, or the GraphQL layer's loader
    of it, so that the answer's `policy` is not read again); ``own_contacts`` its contacts
    (a callback's phone; from the loader that ``linked`` read them through)."""
    key = parse_idempotency_key(idempotency_key, "idempotencyKey")
    if isinstance(key, FieldProblem):
        return InvalidInput([key])
    if key is not None:
        existing = await RequestDocument.find_one({"user_id": user.id, "idempotency_key": key})
        if existing is not None:
            return existing
    if exceeded := await services.rate_limits.hit(rate_limit.REQUESTS_PER_ACCOUNT, str(user.id)):
        return RateLimited(exceeded.retry_after_seconds)
    cards = await linked()
    policy = cards.active
    if policy is None and cards.policies:
        return NotAllowed(ErrorCode.POLICY_NOT_ACTIVE, "error.no_policy_in_force")
    if policy is None:
        return NotAllowed(ErrorCode.NO_ACTIVE_POLICY, "error.no_active_policy")
    validation = _Validation()
    details = await _details(
        form, user, own_contacts, validation, policy.valid_from, policy.valid_to
    )
    if validation.checked.problems or details is None:
        return InvalidInput(validation.checked.problems)
    request_id = PydanticObjectId()
    attachments = await files.store(validation.files, owner_id=user.id, request_id=request_id)  # type: ignore[arg-type]
    moment = now()
    submitted = StatusChange(
        status=RequestStatus.SUBMITTED, at=moment, by_operator=False, actor_id=user.id
    )
    due_at = due.due_at(details.kind, moment, [submitted], due.targets(services.settings))
    request = RequestDocument(
        id=request_id,
        number=await _next_number(moment.year),
        user_id=user.id,  # type: ignore[arg-type]
        policy_id=policy.id,  # type: ignore[arg-type]
        kind=details.kind,
        details=details,
        attachments=attachments,
        history=[submitted],
        due_at=due_at,
        overdue_watch_at=due_at,
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
    own_contacts: Callable[[], Awaitable[list[ContactDocument]]],
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
                provider_id=await _provider(RequestKind.DOCTOR_APPOINTMENT, form, checked),
            )
        case MedicationsForm():
            items = _medication_items(form.items, validation)
            address = _own_address(user, form.delivery_address_id, "deliveryAddressId", validation)
            comment = checked.text(form.comment, "comment", max_length=1000, required=False)
            _take_files(form.prescriptions, "prescriptions", validation, required=False)
            return MedicationsDetails(
                items=items,
                delivery_address=address,
                comment=comment,
                provider_id=await _provider(RequestKind.MEDICATIONS, form, checked),
            )
        case LabTestsForm():
            tests = checked.texts(form.tests, "tests", max_items=MAX_ITEMS, max_length=200)
            windows = _windows(form.preferred_times, "preferredTimes", validation)
            address = _visit_address(user, form.home_visit, form.address_id, validation)
            return LabTestsDetails(
                tests=tests,
                preferred_times=windows,
                home_visit=form.home_visit,
                address=address,
                provider_id=await _provider(RequestKind.LAB_TESTS, form, checked),
            )
        case ReimbursementForm():
            amount = checked.amount(form.amount, "amount", maximum=MAX_AMOUNT)
            currency = (form.currency or "UAH").strip().upper()
            if currency not in CURRENCIES:
                checked.fail(
                    "currency", FieldErrorCode.CURRENCY_INVALID, allowed=", ".join(CURRENCIES)
                )
            if form.service_date > now().date():
                checked.fail("serviceDate", FieldErrorCode.SERVICE_DATE_IN_FUTURE)
            elif not valid_from <= form.service_date <= valid_to:
                checked.fail(
                    "serviceDate",
                    FieldErrorCode.SERVICE_DATE_OUTSIDE_POLICY,
                    valid_from=valid_from,
                    valid_to=valid_to,
                )
            description = checked.text(
                form.description, "description", max_length=2000, required=True
            )
            iban = checked.iban(form.iban, "iban")
            _take_files(form.documents, "documents", validation, required=True)
            return ReimbursementDetails(
                amount=amount or "0",
                currency=currency,
                service_date=form.service_date,
                description=description or "",
                iban=iban or "",
            )
        case CallbackForm():
            phone = await _callback_phone(own_contacts, form.phone, validation)
            window = None
            if form.preferred_time is not None:
                window = (_windows([form.preferred_time], "preferredTime", validation) or [None])[0]
            topic = checked.text(form.topic, "topic", max_length=500, required=False)
            return CallbackDetails(phone=phone or "", preferred_time=window, topic=topic)


async def _provider(
    kind: RequestKind,
    form: DoctorAppointmentForm | MedicationsForm | LabTestsForm,
    checked: Checked,
) -> PydanticObjectId | None:
    """The directory's provider the request names, if it names one (`providerId`)."""
    if form.provider_id is None:
        return None
    provider = await providers.provider_for(kind, form.provider_id, "providerId", checked)
    return provider.id if provider else None


def _windows(windows: list[TimeWindow], path: str, validation: _Validation) -> list[TimeWindow]:
    if not windows:
        validation.checked.fail(path, FieldErrorCode.WINDOWS_REQUIRED)
    if len(windows) > MAX_WINDOWS:
        validation.checked.fail(path, FieldErrorCode.TOO_MANY_ITEMS, max_items=MAX_WINDOWS)
    moment = now()
    for index, window in enumerate(windows):
        if not moment < window.start < window.end:
            validation.checked.fail(f"{path}[{index}]", FieldErrorCode.WINDOW_INVALID)
    return windows


def _own_address(
    user: UserDocument, address_id: str | None, path: str, validation: _Validation
) -> Address | None:
    if address_id is None:
        return None
    for address in user.addresses.values():
        if str(address.id) == address_id:
            return address
    validation.checked.fail(path, FieldErrorCode.ADDRESS_UNKNOWN)
    return None


def _visit_address(
    user: UserDocument, home_visit: bool, address_id: str | None, validation: _Validation
) -> Address | None:
    if home_visit and address_id is None:
        validation.checked.fail("addressId", FieldErrorCode.ADDRESS_REQUIRED)
        return None
    return _own_address(user, address_id, "addressId", validation)


def _medication_items(items: list[MedicationItem], validation: _Validation) -> list[MedicationItem]:
    validation.checked.count(items, "items", max_items=MAX_ITEMS)
    cleaned = []
    for index, item in enumerate(items):
        checked = validation.checked
        name = checked.text(item.name, f"items[{index}].name", max_length=200, required=True)
        dosage = checked.text(item.dosage, f"items[{index}].dosage", max_length=100, required=False)
        if not 1 <= item.quantity <= MAX_QUANTITY:
            validation.checked.fail(
                f"items[{index}].quantity",
                FieldErrorCode.QUANTITY_INVALID,
                max_quantity=MAX_QUANTITY,
            )
        cleaned.append(MedicationItem(name=name or "", dosage=dosage, quantity=item.quantity))
    return cleaned


def _take_files(
    incoming: list[IncomingFile], path: str, validation: _Validation, *, required: bool
) -> None:
    validation.checked.problems.extend(files.file_problems(incoming, path, required=required))
    validation.files.extend(incoming)


async def _callback_phone(
    own_contacts: Callable[[], Awaitable[list[ContactDocument]]],
    typed: str | None,
    validation: _Validation,
) -> str | None:
    if typed and typed.strip():
        phone = parse_phone(typed, "phone")
        if isinstance(phone, FieldProblem):
            validation.checked.problems.append(phone)
            return None
        return phone
    if phone := contacts.primary_phone_among(await own_contacts()):
        return phone
    validation.checked.fail("phone", FieldErrorCode.PHONE_REQUIRED)
    return None
