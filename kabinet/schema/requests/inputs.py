"""What clients send about requests: the filter of a list, the five kinds of request,
comments and status changes, and how they become the use cases' forms."""

from datetime import date, datetime

import strawberry
from beanie import PydanticObjectId
from strawberry.file_uploads import Upload

from kabinet.clock import aware
from kabinet.documents.request import MedicationItem as MedicationItemValue
from kabinet.documents.request import TimeWindow as TimeWindowValue
from kabinet.resolvers import requests
from kabinet.resolvers.files import MAX_FILE_BYTES, MAX_FILES, IncomingFile
from kabinet.schema.enums import (
    CallResult,
    Handover,
    ItemDecision,
    PayoutStatus,
    RefusalReason,
    RequestKind,
    RequestStatus,
)
from kabinet.schema.ids import decode_id, filter_id


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
    assigned_to_me: bool | None = strawberry.field(
        default=None, description="Staff: `true` for those you handle (`Request.assignee`)."
    )
    unassigned: bool | None = strawberry.field(
        default=None, description="Staff: `true` for those nobody handles yet."
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff: handled by this staff member (a `User` id)."
    )
    overdue: bool | None = strawberry.field(
        default=None,
        description="`true` for those past their due time (`Request.overdue`); `false` and null "
        "ask nothing.",
    )


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
    provider_id: strawberry.ID | None = strawberry.field(
        default=None, description="A clinic of `providers` the person would like to go to."
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
    provider_id: strawberry.ID | None = strawberry.field(
        default=None, description="A pharmacy of `providers` the person would like to use."
    )


@strawberry.input(description="Order laboratory tests.")
class LabTestsInput:
    tests: list[str] = strawberry.field(description="Tests to take.")
    preferred_times: list[TimeWindowInput] = strawberry.field(description="One to ten windows.")
    home_visit: bool | None = strawberry.field(default=False, description="Samples taken at home.")
    address_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for a home visit."
    )
    provider_id: strawberry.ID | None = strawberry.field(
        default=None, description="A laboratory of `providers` the person would like to go to."
    )


@strawberry.input(description="Ask to reimburse medical expenses.")
class ReimbursementInput:
    amount: str = strawberry.field(description="Decimal, e.g. 1250.50.")
    currency: str | None = strawberry.field(default=None, description="UAH (default), USD, EUR.")
    service_date: date = strawberry.field(description="Within the card's validity, not future.")
    description: str = strawberry.field(description="What was paid for.")
    iban: str = strawberry.field(
        description="Ukrainian IBAN: `UA`, two check digits, a six-digit bank code, then 19 "
        "letters or digits (29 characters; spaces, dashes and dots ignored)."
    )
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
    internal: bool | None = strawberry.field(
        default=False,
        description="Staff: a note for the contact centre only; the person never sees it "
        "(not in the API, live events, the data export or notifications).",
    )


@strawberry.input(description="Staff: who handles a request.")
class AssignRequestInput:
    request_id: strawberry.ID = strawberry.field(description="Id of the request.")
    operator_id: strawberry.ID | None = strawberry.field(
        description="The staff member (a `User` id) to handle it; null releases it. An "
        "operator may give only themselves an unassigned request and release only their own; "
        "an administrator anyone."
    )


@strawberry.input(
    description="Where and with whom a doctor appointment was arranged; its "
    "time is the change's `scheduledAt`."
)
class AppointmentOutcomeInput:
    provider_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A clinic of `providers`: its name and address are taken from the "
        "directory (`clinicName` and `clinicAddress` are then not used).",
    )
    clinic_name: str | None = strawberry.field(
        default=None, description="The clinic, as the person looks it up; without `providerId`."
    )
    clinic_address: str | None = strawberry.field(
        default=None, description="Its address, as one line; without `providerId`."
    )
    doctor: str = strawberry.field(description="The doctor's name.")
    specialty: str = strawberry.field(description="Their specialty.")
    instructions: str | None = strawberry.field(
        default=None, description="What to bring or do beforehand."
    )

    def form(self) -> requests.AppointmentOutcomeForm:
        return requests.AppointmentOutcomeForm(
            clinic_name=self.clinic_name,
            clinic_address=self.clinic_address,
            doctor=self.doctor,
            specialty=self.specialty,
            instructions=self.instructions,
            provider_id=_provider_id(self.provider_id),
        )


@strawberry.input(description="The decision on one requested medication.")
class MedicationDecisionInput:
    decision: ItemDecision = strawberry.field(description="Approved, substituted or refused.")
    substitute: str | None = strawberry.field(
        default=None, description="What is given instead; required for SUBSTITUTED."
    )


@strawberry.input(description="How and which medications the person gets.")
class MedicationsOutcomeInput:
    handover: Handover = strawberry.field(description="Delivery or a pharmacy pick-up.")
    provider_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A pharmacy of `providers`: its name and address are taken from the "
        "directory (`pharmacyName` and `pharmacyAddress` are then not used).",
    )
    pharmacy_name: str | None = strawberry.field(
        default=None, description="Required for PHARMACY_PICKUP without `providerId`."
    )
    pharmacy_address: str | None = strawberry.field(
        default=None, description="Required for PHARMACY_PICKUP without `providerId`."
    )
    items: list[MedicationDecisionInput] = strawberry.field(
        description="One decision per requested item, in the request's order."
    )

    def form(self) -> requests.MedicationsOutcomeForm:
        return requests.MedicationsOutcomeForm(
            handover=self.handover,
            pharmacy_name=self.pharmacy_name,
            pharmacy_address=self.pharmacy_address,
            provider_id=_provider_id(self.provider_id),
            items=[
                requests.MedicationDecisionForm(decision=i.decision, substitute=i.substitute)
                for i in self.items
            ],
        )


@strawberry.input(
    description="Where lab samples are taken; the time is the change's `scheduledAt`."
)
class LabTestsOutcomeInput:
    provider_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A laboratory of `providers`: its name and address are taken from the "
        "directory (`laboratory` and `laboratoryAddress` are then not used).",
    )
    laboratory: str | None = strawberry.field(
        default=None, description="The laboratory; without `providerId`."
    )
    laboratory_address: str | None = strawberry.field(
        default=None, description="Its address, as one line; without `providerId`."
    )

    def form(self) -> requests.LabTestsOutcomeForm:
        return requests.LabTestsOutcomeForm(
            laboratory=self.laboratory,
            laboratory_address=self.laboratory_address,
            provider_id=_provider_id(self.provider_id),
        )


@strawberry.input(description="Whether one of the request's files was accepted.")
class DocumentDecisionInput:
    attachment_id: strawberry.ID = strawberry.field(
        description="An `Attachment` id of the request's `attachments`."
    )
    approved: bool = strawberry.field(description="Accepted for the reimbursement.")


@strawberry.input(description="One reason for refusing a reimbursement, in whole or in part.")
class RefusalInput:
    reason: RefusalReason = strawberry.field(description="Why.")
    text: str | None = strawberry.field(
        default=None, description="In words, shown to the person; required for OTHER."
    )


@strawberry.input(description="The decision on a reimbursement.")
class ReimbursementOutcomeInput:
    approved_amount: str | None = strawberry.field(
        default=None,
        description="APPROVED: the amount paid back, above zero, at most the claimed amount, "
        "two decimals; REJECTED: leave it out.",
    )
    documents: list[DocumentDecisionInput] = strawberry.field(
        description="One decision for each of the request's files."
    )
    refusals: list[RefusalInput] = strawberry.field(
        default_factory=list,
        description="Why it was refused, or not all approved: at least one then.",
    )

    def form(self) -> requests.ReimbursementOutcomeForm:
        return requests.ReimbursementOutcomeForm(
            approved_amount=self.approved_amount,
            documents=[
                requests.DocumentDecisionForm(
                    attachment_id=decode_id(d.attachment_id, "Attachment"), approved=d.approved
                )
                for d in self.documents
            ],
            refusals=[requests.RefusalForm(reason=r.reason, text=r.text) for r in self.refusals],
        )


@strawberry.input(description="Staff: the payout of an approved reimbursement.")
class RecordPayoutInput:
    request_id: strawberry.ID = strawberry.field(description="Id of a reimbursement request.")
    status: PayoutStatus = strawberry.field(description="PENDING, or PAID.")
    amount: str = strawberry.field(
        description="The amount paid, at most the approved amount, two decimals."
    )
    paid_on: date | None = strawberry.field(
        default=None, description="PAID: when, not later than today."
    )
    reference: str | None = strawberry.field(
        default=None, description="PAID: the payment's reference."
    )

    def form(self) -> requests.PayoutForm:
        return requests.PayoutForm(
            status=self.status, amount=self.amount, paid_on=self.paid_on, reference=self.reference
        )


@strawberry.input(description="Staff: the results of a lab tests request.")
class UploadLabResultsInput:
    request_id: strawberry.ID = strawberry.field(description="Id of a lab tests request.")
    files: list[Upload] = strawberry.field(
        description="1 to 10 files, PDF, JPEG or PNG, 10 MB each."
    )


@strawberry.input(
    one_of=True, description="Exactly one outcome, of the request's kind: shown to the person."
)
class RequestOutcomeInput:
    appointment: AppointmentOutcomeInput | None = strawberry.field(
        default=strawberry.UNSET, description="A doctor appointment's (required for SCHEDULED)."
    )
    medications: MedicationsOutcomeInput | None = strawberry.field(
        default=strawberry.UNSET, description="Medications' (required for APPROVED)."
    )
    lab_tests: LabTestsOutcomeInput | None = strawberry.field(
        default=strawberry.UNSET, description="Lab tests' (required for SCHEDULED)."
    )
    reimbursement: ReimbursementOutcomeInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="A reimbursement's decision (required for APPROVED and REJECTED).",
    )

    def form(self) -> requests.OutcomeForm:
        given = [value for value in vars(self).values() if value]
        return given[0].form()  # one of them: the schema lets exactly one through


@strawberry.input(description="Staff: how a call for a callback request went.")
class RecordCallAttemptInput:
    request_id: strawberry.ID = strawberry.field(description="Id of a callback request.")
    result: CallResult = strawberry.field(description="How the call went.")
    next_attempt_at: datetime | None = strawberry.field(
        default=None, description="When the next call is planned (future); null: none."
    )


@strawberry.input(description="Staff: move a request along its lifecycle.")
class ChangeRequestStatusInput:
    request_id: strawberry.ID = strawberry.field(description="Id of the request.")
    status: RequestStatus = strawberry.field(description="The new status.")
    comment: str | None = strawberry.field(default=None, description="Shown to the person.")
    scheduled_at: datetime | None = strawberry.field(
        default=None, description="Required for SCHEDULED: the agreed time."
    )
    outcome: RequestOutcomeInput | None = strawberry.field(
        default=None,
        description="What was arranged, recorded with the change (required where "
        "`availableActions` lists it).",
    )


async def read_uploads(uploads: list[Upload] | None) -> list[IncomingFile]:
    """Each upload up to one byte past the limit, so an oversized one is refused unstored.

    At most one file more than allowed is read: enough to refuse too many files.
    """
    return [
        IncomingFile(
            filename=upload.filename or "document", content=await upload.read(MAX_FILE_BYTES + 1)
        )
        for upload in (uploads or [])[: MAX_FILES + 1]
    ]


def _provider_id(value: strawberry.ID | None) -> PydanticObjectId | None:
    """The `Provider` a request or an outcome names; an id of no provider is one no
    provider has, so it is refused as unknown."""
    return filter_id(value, "Provider")


def _address_id(value: strawberry.ID | None) -> str | None:
    if value is None:
        return None
    decoded = decode_id(value, "Address")
    return str(decoded) if decoded else str(value)


async def request_form(input: CreateRequestInput) -> requests.RequestForm:
    if input.doctor_appointment:
        doctor = input.doctor_appointment
        return requests.DoctorAppointmentForm(
            specialty=doctor.specialty,
            reason=doctor.reason,
            preferred_times=[_window(w) for w in doctor.preferred_times],
            home_visit=bool(doctor.home_visit),
            address_id=_address_id(doctor.address_id),
            provider_id=_provider_id(doctor.provider_id),
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
            prescriptions=await read_uploads(medications.prescriptions),
            provider_id=_provider_id(medications.provider_id),
        )
    if input.lab_tests:
        lab = input.lab_tests
        return requests.LabTestsForm(
            tests=lab.tests,
            preferred_times=[_window(w) for w in lab.preferred_times],
            home_visit=bool(lab.home_visit),
            address_id=_address_id(lab.address_id),
            provider_id=_provider_id(lab.provider_id),
        )
    if input.reimbursement:
        money = input.reimbursement
        return requests.ReimbursementForm(
            amount=money.amount,
            currency=money.currency,
            service_date=money.service_date,
            description=money.description,
            iban=money.iban,
            documents=await read_uploads(money.documents),
        )
    callback = input.callback or CallbackInput()
    return requests.CallbackForm(
        phone=callback.phone,
        preferred_time=_window(callback.preferred_time) if callback.preferred_time else None,
        topic=callback.topic,
    )
