"""What the contact centre arranged for a request (issue 16 item 4), checked before the
status change that records it: which status change needs which outcome, and the forms
staff send."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from beanie import PydanticObjectId

from kabinet.clock import now
from kabinet.documents import ProviderDocument, RequestDocument, RequestKind, RequestStatus
from kabinet.documents.request import (
    AppointmentOutcome,
    DocumentDecision,
    Handover,
    ItemDecision,
    LabTestsOutcome,
    MedicationDecision,
    MedicationsDetails,
    MedicationsOutcome,
    Outcome,
    Refusal,
    RefusalReason,
    ReimbursementDetails,
    ReimbursementOutcome,
)
from kabinet.resolvers import providers
from kabinet.resolvers.errors import FieldErrorCode
from kabinet.resolvers.validation import Checked

NAME_LENGTH = 200
INSTRUCTIONS_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class AppointmentOutcomeForm:
    clinic_name: str | None
    clinic_address: str | None
    doctor: str
    specialty: str
    instructions: str | None = None
    provider_id: PydanticObjectId | None = None  # a clinic of the directory, instead of text


@dataclass(frozen=True, slots=True)
class MedicationDecisionForm:
    decision: ItemDecision
    substitute: str | None = None


@dataclass(frozen=True, slots=True)
class MedicationsOutcomeForm:
    handover: Handover
    items: list[MedicationDecisionForm]
    pharmacy_name: str | None = None
    pharmacy_address: str | None = None
    provider_id: PydanticObjectId | None = None  # a pharmacy of the directory, instead of text


@dataclass(frozen=True, slots=True)
class LabTestsOutcomeForm:
    laboratory: str | None
    laboratory_address: str | None
    provider_id: PydanticObjectId | None = None  # a laboratory of the directory, instead of text


@dataclass(frozen=True, slots=True)
class RefusalForm:
    reason: RefusalReason
    text: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentDecisionForm:
    attachment_id: PydanticObjectId | None  # None: an id that names no file
    approved: bool


@dataclass(frozen=True, slots=True)
class ReimbursementOutcomeForm:
    documents: list[DocumentDecisionForm]
    approved_amount: str | None = None
    refusals: list[RefusalForm] = field(default_factory=list)


OutcomeForm = (
    AppointmentOutcomeForm | MedicationsOutcomeForm | LabTestsOutcomeForm | ReimbursementOutcomeForm
)

# The input field of each kind's outcome (`RequestOutcomeInput`).
OUTCOME_FIELDS: dict[RequestKind, str] = {
    RequestKind.DOCTOR_APPOINTMENT: "appointment",
    RequestKind.MEDICATIONS: "medications",
    RequestKind.LAB_TESTS: "labTests",
    RequestKind.REIMBURSEMENT: "reimbursement",
}
# The status changes that must carry an outcome: the person acts on it.
NEEDS_OUTCOME: frozenset[tuple[RequestKind, RequestStatus]] = frozenset(
    {
        (RequestKind.DOCTOR_APPOINTMENT, RequestStatus.SCHEDULED),
        (RequestKind.MEDICATIONS, RequestStatus.APPROVED),
        (RequestKind.LAB_TESTS, RequestStatus.SCHEDULED),
        (RequestKind.REIMBURSEMENT, RequestStatus.APPROVED),
        (RequestKind.REIMBURSEMENT, RequestStatus.REJECTED),
    }
)
_FORM_KINDS: dict[type, RequestKind] = {
    AppointmentOutcomeForm: RequestKind.DOCTOR_APPOINTMENT,
    MedicationsOutcomeForm: RequestKind.MEDICATIONS,
    LabTestsOutcomeForm: RequestKind.LAB_TESTS,
    ReimbursementOutcomeForm: RequestKind.REIMBURSEMENT,
}


def required_fields(kind: RequestKind, status: RequestStatus) -> list[str]:
    """The `changeRequestStatus` input fields a change of a ``kind`` request to ``status``
    needs: what `availableActions` shows and `checked_outcome` enforces."""
    required = ["scheduledAt"] if status is RequestStatus.SCHEDULED else []
    if (kind, status) in NEEDS_OUTCOME:
        required.append(f"outcome.{OUTCOME_FIELDS[kind]}")
    return required


async def named_provider(
    checked: Checked, request: RequestDocument, form: OutcomeForm | None
) -> ProviderDocument | None:
    """The directory's provider an outcome form of the request's kind names (`providerId`),
    read before the outcome is checked; problems go to ``checked``."""
    provider_id = getattr(form, "provider_id", None)
    if form is None or provider_id is None or _FORM_KINDS[type(form)] is not request.kind:
        return None
    path = f"outcome.{OUTCOME_FIELDS[request.kind]}.providerId"
    return await providers.provider_for(request.kind, provider_id, path, checked)


def checked_outcome(
    checked: Checked,
    request: RequestDocument,
    status: RequestStatus,
    form: OutcomeForm | None,
    scheduled_at: datetime | None,
    provider: ProviderDocument | None = None,
) -> Outcome | None:
    """The outcome to store with the change, or None; problems go to ``checked``.
    ``provider``: the one the form names (`named_provider`), whose name and address the
    outcome takes instead of typed ones."""
    kind = request.kind
    required = required_fields(kind, status)
    timed = "scheduledAt" in required or isinstance(
        form, AppointmentOutcomeForm | LabTestsOutcomeForm
    )
    if timed and (scheduled_at is None or scheduled_at <= now()):
        checked.fail("scheduledAt", FieldErrorCode.SCHEDULED_AT_REQUIRED)
    if form is None:
        if (kind, status) in NEEDS_OUTCOME:
            checked.fail(f"outcome.{OUTCOME_FIELDS[kind]}", FieldErrorCode.OUTCOME_REQUIRED)
        return None
    if _FORM_KINDS[type(form)] is not kind:
        checked.fail("outcome", FieldErrorCode.OUTCOME_KIND_MISMATCH)
        return None
    if (kind, status) not in NEEDS_OUTCOME:  # it would replace what was recorded
        checked.fail("outcome", FieldErrorCode.OUTCOME_NOT_EXPECTED)
        return None
    path = f"outcome.{OUTCOME_FIELDS[kind]}"
    if provider is None and getattr(form, "provider_id", None) is not None:
        return None  # `named_provider` told why
    place = _Place.of(provider)
    match form:
        case AppointmentOutcomeForm():
            return _appointment(checked, path, form, scheduled_at, place)
        case MedicationsOutcomeForm():
            return _medications(checked, path, form, request.details, place)  # type: ignore[arg-type]
        case LabTestsOutcomeForm():
            return _lab_tests(checked, path, form, scheduled_at, place)
        case ReimbursementOutcomeForm():
            return _reimbursement(checked, path, form, request, status)


def _line(checked: Checked, value: str | None, path: str, *, required: bool = True) -> str | None:
    return checked.text(value, path, max_length=NAME_LENGTH, required=required)


@dataclass(frozen=True, slots=True)
class _Place:
    """Where the person goes, from the directory: its name and address as one line."""

    provider_id: PydanticObjectId | None = None
    name: str | None = None
    address: str | None = None

    @classmethod
    def of(cls, provider: ProviderDocument | None) -> "_Place | None":
        if provider is None:
            return None
        return cls(provider.id, provider.name, f"{provider.address}, {provider.city}")

    @staticmethod
    def typed(
        checked: Checked,
        place: "_Place | None",
        name: tuple[str | None, str],
        address: tuple[str | None, str],
        *,
        required: bool = True,
    ) -> "_Place":
        """``place``, or the typed (value, path) ``name`` and ``address`` checked."""
        if place is not None:
            return place
        return _Place(
            None,
            _line(checked, name[0], name[1], required=required),
            _line(checked, address[0], address[1], required=required),
        )


def _appointment(
    checked: Checked,
    path: str,
    form: AppointmentOutcomeForm,
    scheduled_at: datetime | None,
    place: _Place | None,
) -> AppointmentOutcome | None:
    clinic = _Place.typed(
        checked,
        place,
        (form.clinic_name, f"{path}.clinicName"),
        (form.clinic_address, f"{path}.clinicAddress"),
    )
    clinic_name, clinic_address = clinic.name, clinic.address
    doctor = _line(checked, form.doctor, f"{path}.doctor")
    specialty = _line(checked, form.specialty, f"{path}.specialty")
    instructions = checked.text(
        form.instructions,
        f"{path}.instructions",
        max_length=INSTRUCTIONS_LENGTH,
        required=False,
    )
    # The time is the change's `scheduledAt` (checked by the caller).
    if checked.problems or None in (clinic_name, clinic_address, doctor, specialty, scheduled_at):
        return None
    return AppointmentOutcome(
        clinic_name=clinic_name,  # type: ignore[arg-type]
        clinic_address=clinic_address,  # type: ignore[arg-type]
        doctor=doctor,  # type: ignore[arg-type]
        specialty=specialty,  # type: ignore[arg-type]
        at=scheduled_at,  # type: ignore[arg-type]
        instructions=instructions,
        provider_id=clinic.provider_id,
    )


def _medications(
    checked: Checked,
    path: str,
    form: MedicationsOutcomeForm,
    details: MedicationsDetails,
    place: _Place | None,
) -> MedicationsOutcome | None:
    """One decision per requested item, in the request's order; a pick-up names the
    pharmacy (a delivery may: the one delivering), a substitute names what is given
    instead."""
    pickup = form.handover is Handover.PHARMACY_PICKUP
    pharmacy = _Place.typed(
        checked,
        place,
        (form.pharmacy_name, f"{path}.pharmacyName"),
        (form.pharmacy_address, f"{path}.pharmacyAddress"),
        required=pickup,
    )
    if len(form.items) != len(details.items):
        checked.fail(f"{path}.items", FieldErrorCode.OUTCOME_ITEMS_MISMATCH)
        return None
    decisions = []
    for index, (asked, given) in enumerate(zip(details.items, form.items, strict=True)):
        substituted = given.decision is ItemDecision.SUBSTITUTED
        substitute = _line(
            checked, given.substitute, f"{path}.items.{index}.substitute", required=substituted
        )
        decisions.append(
            MedicationDecision(
                name=asked.name,
                decision=given.decision,
                substitute=substitute if substituted else None,
            )
        )
    if checked.problems:
        return None
    named = pickup or pharmacy.provider_id is not None
    return MedicationsOutcome(
        handover=form.handover,
        pharmacy_name=pharmacy.name if named else None,
        pharmacy_address=pharmacy.address if named else None,
        items=decisions,
        provider_id=pharmacy.provider_id,
    )


def _lab_tests(
    checked: Checked,
    path: str,
    form: LabTestsOutcomeForm,
    scheduled_at: datetime | None,
    place: _Place | None,
) -> LabTestsOutcome | None:
    laboratory = _Place.typed(
        checked,
        place,
        (form.laboratory, f"{path}.laboratory"),
        (form.laboratory_address, f"{path}.laboratoryAddress"),
    )
    if checked.problems:
        return None
    return LabTestsOutcome(
        laboratory=laboratory.name,
        laboratory_address=laboratory.address,
        at=scheduled_at,
        provider_id=laboratory.provider_id,
    )


def keeping_results(outcome: Outcome, stored: Outcome | None) -> Outcome:
    """``outcome`` with the lab results ``stored`` holds: a re-planned request keeps them.
    Applied to the request as read before each write attempt, so results uploaded
    meanwhile are kept too."""
    if isinstance(outcome, LabTestsOutcome) and isinstance(stored, LabTestsOutcome):
        return outcome.model_copy(
            update={"results": stored.results, "results_ready_at": stored.results_ready_at}
        )
    return outcome


def _reimbursement(
    checked: Checked,
    path: str,
    form: ReimbursementOutcomeForm,
    request: RequestDocument,
    status: RequestStatus,
) -> ReimbursementOutcome | None:
    """The decision: an approved amount (APPROVED: above zero, at most the claimed amount,
    two decimals; REJECTED: none), one decision per filed document, and the reasons for
    what was refused (at least one unless all the claim was approved)."""
    details: ReimbursementDetails = request.details  # type: ignore[assignment]
    claimed = Decimal(details.amount)
    rejected = status is RequestStatus.REJECTED
    approved: str | None = "0.00"
    if rejected and form.approved_amount is not None:
        checked.fail(f"{path}.approvedAmount", FieldErrorCode.AMOUNT_INVALID)
    elif not rejected:
        if form.approved_amount is None:
            checked.fail(f"{path}.approvedAmount", FieldErrorCode.REQUIRED)
        else:
            approved = checked.amount(
                form.approved_amount,
                f"{path}.approvedAmount",
                maximum=claimed,
                above=FieldErrorCode.AMOUNT_ABOVE_MAXIMUM,
            )
    decided = [document.attachment_id for document in form.documents]
    if sorted(map(str, decided)) != sorted(str(a.id) for a in request.attachments):
        checked.fail(f"{path}.documents", FieldErrorCode.OUTCOME_DOCUMENTS_MISMATCH)
    refusals = []
    for index, refusal in enumerate(form.refusals):
        text = checked.text(
            refusal.text,
            f"{path}.refusals.{index}.text",
            max_length=INSTRUCTIONS_LENGTH,
            required=refusal.reason is RefusalReason.OTHER,
        )
        refusals.append(Refusal(reason=refusal.reason, text=text))
    if not refusals and approved is not None and Decimal(approved) < claimed:
        checked.fail(f"{path}.refusals", FieldErrorCode.REFUSAL_REQUIRED)
    if checked.problems or approved is None:
        return None
    return ReimbursementOutcome(
        approved_amount=approved,
        currency=details.currency,
        documents=[
            DocumentDecision(attachment_id=d.attachment_id, approved=d.approved)  # type: ignore[arg-type]
            for d in form.documents
        ],
        refusals=refusals,
    )
