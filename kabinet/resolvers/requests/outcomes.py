"""What the contact centre arranged for a request (issue 16 item 4), checked before the
status change that records it: which status change needs which outcome, and the forms
staff send."""

from dataclasses import dataclass
from datetime import datetime

from kabinet.clock import now
from kabinet.documents import RequestKind, RequestStatus
from kabinet.documents.request import AppointmentOutcome, Outcome
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


OutcomeForm = AppointmentOutcomeForm

# The input field of each kind's outcome (`RequestOutcomeInput`).
OUTCOME_FIELDS: dict[RequestKind, str] = {RequestKind.DOCTOR_APPOINTMENT: "appointment"}
# The status changes that must carry an outcome: the person acts on it.
NEEDS_OUTCOME: frozenset[tuple[RequestKind, RequestStatus]] = frozenset(
    {(RequestKind.DOCTOR_APPOINTMENT, RequestStatus.SCHEDULED)}
)
_FORM_KINDS: dict[type[OutcomeForm], RequestKind] = {
    AppointmentOutcomeForm: RequestKind.DOCTOR_APPOINTMENT
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
    kind: RequestKind,
    status: RequestStatus,
    form: OutcomeForm | None,
    scheduled_at: datetime | None,
) -> Outcome | None:
    """The outcome to store with the change, or None; problems go to ``checked``."""
    required = required_fields(kind, status)
    timed = "scheduledAt" in required or isinstance(form, AppointmentOutcomeForm)
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


def _appointment(
    checked: Checked, path: str, form: AppointmentOutcomeForm, scheduled_at: datetime | None
) -> AppointmentOutcome | None:
    def line(value: str, name: str) -> str | None:
        return checked.text(value, f"{path}.{name}", max_length=NAME_LENGTH, required=True)

    clinic_name = line(form.clinic_name, "clinicName")
    clinic_address = line(form.clinic_address, "clinicAddress")
    doctor = line(form.doctor, "doctor")
    specialty = line(form.specialty, "specialty")
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
