"""What the contact centre arranged for a request (issue 16 item 4), checked before the
status change that records it: which status change needs which outcome, and the forms
staff send."""

from dataclasses import dataclass
from datetime import datetime

from kabinet.clock import now
from kabinet.documents import RequestDocument, RequestKind, RequestStatus
from kabinet.documents.request import (
    AppointmentOutcome,
    Handover,
    ItemDecision,
    LabTestsOutcome,
    MedicationDecision,
    MedicationsDetails,
    MedicationsOutcome,
    Outcome,
)
from kabinet.resolvers.errors import FieldErrorCode
from kabinet.resolvers.validation import Checked

NAME_LENGTH = 200
INSTRUCTIONS_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class AppointmentOutcomeForm:
    clinic_name: str
    clinic_address: str
    doctor: str
    specialty: str
    instructions: str | None = None


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


@dataclass(frozen=True, slots=True)
class LabTestsOutcomeForm:
    laboratory: str
    laboratory_address: str


OutcomeForm = AppointmentOutcomeForm | MedicationsOutcomeForm | LabTestsOutcomeForm

# The input field of each kind's outcome (`RequestOutcomeInput`).
OUTCOME_FIELDS: dict[RequestKind, str] = {
    RequestKind.DOCTOR_APPOINTMENT: "appointment",
    RequestKind.MEDICATIONS: "medications",
    RequestKind.LAB_TESTS: "labTests",
}
# The status changes that must carry an outcome: the person acts on it.
NEEDS_OUTCOME: frozenset[tuple[RequestKind, RequestStatus]] = frozenset(
    {
        (RequestKind.DOCTOR_APPOINTMENT, RequestStatus.SCHEDULED),
        (RequestKind.MEDICATIONS, RequestStatus.APPROVED),
        (RequestKind.LAB_TESTS, RequestStatus.SCHEDULED),
    }
)
_FORM_KINDS: dict[type, RequestKind] = {
    AppointmentOutcomeForm: RequestKind.DOCTOR_APPOINTMENT,
    MedicationsOutcomeForm: RequestKind.MEDICATIONS,
    LabTestsOutcomeForm: RequestKind.LAB_TESTS,
}


def required_fields(kind: RequestKind, status: RequestStatus) -> list[str]:
    """The `changeRequestStatus` input fields a change of a ``kind`` request to ``status``
    needs: what `availableActions` shows and `checked_outcome` enforces."""
    required = ["scheduledAt"] if status is RequestStatus.SCHEDULED else []
    if (kind, status) in NEEDS_OUTCOME:
        required.append(f"outcome.{OUTCOME_FIELDS[kind]}")
    return required


def checked_outcome(
    checked: Checked,
    request: RequestDocument,
    status: RequestStatus,
    form: OutcomeForm | None,
    scheduled_at: datetime | None,
) -> Outcome | None:
    """The outcome to store with the change, or None; problems go to ``checked``."""
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
    path = f"outcome.{OUTCOME_FIELDS[kind]}"
    match form:
        case AppointmentOutcomeForm():
            return _appointment(checked, path, form, scheduled_at)
        case MedicationsOutcomeForm():
            return _medications(checked, path, form, request.details)  # type: ignore[arg-type]
        case LabTestsOutcomeForm():
            return _lab_tests(checked, path, form, scheduled_at, request.outcome)


def _line(checked: Checked, value: str | None, path: str, *, required: bool = True) -> str | None:
    return checked.text(value, path, max_length=NAME_LENGTH, required=required)


def _appointment(
    checked: Checked, path: str, form: AppointmentOutcomeForm, scheduled_at: datetime | None
) -> AppointmentOutcome | None:
    clinic_name = _line(checked, form.clinic_name, f"{path}.clinicName")
    clinic_address = _line(checked, form.clinic_address, f"{path}.clinicAddress")
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
    )


def _medications(
    checked: Checked, path: str, form: MedicationsOutcomeForm, details: MedicationsDetails
) -> MedicationsOutcome | None:
    """One decision per requested item, in the request's order; a pick-up names the
    pharmacy, a substitute names what is given instead."""
    pickup = form.handover is Handover.PHARMACY_PICKUP
    pharmacy_name = _line(checked, form.pharmacy_name, f"{path}.pharmacyName", required=pickup)
    pharmacy_address = _line(
        checked, form.pharmacy_address, f"{path}.pharmacyAddress", required=pickup
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
    return MedicationsOutcome(
        handover=form.handover,
        pharmacy_name=pharmacy_name if pickup else None,
        pharmacy_address=pharmacy_address if pickup else None,
        items=decisions,
    )


def _lab_tests(
    checked: Checked,
    path: str,
    form: LabTestsOutcomeForm,
    scheduled_at: datetime | None,
    stored: Outcome | None,
) -> LabTestsOutcome | None:
    """The laboratory and time; results uploaded before (a re-planned request) stay."""
    laboratory = _line(checked, form.laboratory, f"{path}.laboratory")
    address = _line(checked, form.laboratory_address, f"{path}.laboratoryAddress")
    if checked.problems:
        return None
    kept = stored if isinstance(stored, LabTestsOutcome) else LabTestsOutcome()
    return kept.model_copy(
        update={"laboratory": laboratory, "laboratory_address": address, "at": scheduled_at}
    )
