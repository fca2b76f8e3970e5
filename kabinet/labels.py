"""Enum values as a member reads them, in the words of the SMS and emails.

A frontend shows the same labels (`statusLabel`, `kindLabel` and the `enumLabels` query),
so "needs information from you" on the screen is what the SMS said.
"""

from collections.abc import Mapping
from enum import Enum

from kabinet.documents import BenefitKind, PolicyStatus, Relationship, RequestKind, RequestStatus
from kabinet.i18n import N_, Locale, translate

# Within a sentence ("your request is now «submitted»"), hence lower case.
STATUS_LABELS: dict[RequestStatus, str] = {
    RequestStatus.SUBMITTED: N_("status.submitted"),
    RequestStatus.IN_PROGRESS: N_("status.in_progress"),
    RequestStatus.NEEDS_INFO: N_("status.needs_info"),
    RequestStatus.SCHEDULED: N_("status.scheduled"),
    RequestStatus.APPROVED: N_("status.approved"),
    RequestStatus.COMPLETED: N_("status.completed"),
    RequestStatus.REJECTED: N_("status.rejected"),
    RequestStatus.CANCELLED: N_("status.cancelled"),
}
KIND_LABELS: dict[RequestKind, str] = {
    RequestKind.DOCTOR_APPOINTMENT: N_("request_kind.doctor_appointment"),
    RequestKind.MEDICATIONS: N_("request_kind.medications"),
    RequestKind.LAB_TESTS: N_("request_kind.lab_tests"),
    RequestKind.REIMBURSEMENT: N_("request_kind.reimbursement"),
    RequestKind.CALLBACK: N_("request_kind.callback"),
}
CARD_STATUS_LABELS: dict[PolicyStatus, str] = {
    PolicyStatus.ACTIVE: N_("card_status.active"),
    PolicyStatus.SUSPENDED: N_("card_status.suspended"),
    PolicyStatus.EXPIRED: N_("card_status.expired"),
}
RELATIONSHIP_LABELS: dict[Relationship, str] = {
    Relationship.SELF: N_("relationship.self"),
    Relationship.CHILD: N_("relationship.child"),
    Relationship.SPOUSE: N_("relationship.spouse"),
    Relationship.OTHER: N_("relationship.other"),
}
BENEFIT_LABELS: dict[BenefitKind, str] = {
    BenefitKind.OUTPATIENT_VISITS: N_("benefit.outpatient_visits"),
    BenefitKind.HOME_VISITS: N_("benefit.home_visits"),
    BenefitKind.MEDICATIONS: N_("benefit.medications"),
    BenefitKind.LAB_TESTS: N_("benefit.lab_tests"),
    BenefitKind.HOSPITAL: N_("benefit.hospital"),
    BenefitKind.DENTAL: N_("benefit.dental"),
    BenefitKind.EMERGENCY: N_("benefit.emergency"),
    BenefitKind.REIMBURSEMENT: N_("benefit.reimbursement"),
}
LABELS: dict[type[Enum], Mapping[Enum, str]] = {
    RequestStatus: STATUS_LABELS,
    RequestKind: KIND_LABELS,
    PolicyStatus: CARD_STATUS_LABELS,
    Relationship: RELATIONSHIP_LABELS,
    BenefitKind: BENEFIT_LABELS,
}


def label(member: Enum, locale: Locale) -> str:
    """``member`` shown on its own (a badge, a list, a filter): its words, capitalised."""
    text = translate(LABELS[type(member)][member], locale)
    return text[:1].upper() + text[1:]
