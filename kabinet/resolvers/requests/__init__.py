"""Requests (guide section 4), by use case: `filing` the five kinds, `reading` them (who
may read which, and the lists), and their `lifecycle` (status changes, cancelling,
comments, assignment)."""

from kabinet.resolvers.requests.filing import (
    CallbackForm,
    DoctorAppointmentForm,
    LabTestsForm,
    MedicationsForm,
    ReimbursementForm,
    RequestForm,
    create_request,
)
from kabinet.resolvers.requests.lifecycle import (
    MAX_COMMENTS,
    TRANSITIONS,
    Action,
    Actor,
    AvailableAction,
    add_comment,
    assign_request,
    available_actions,
    cancel_request,
    change_status,
    record_call_attempt,
    upload_lab_results,
)
from kabinet.resolvers.requests.outcomes import (
    AppointmentOutcomeForm,
    LabTestsOutcomeForm,
    MedicationDecisionForm,
    MedicationsOutcomeForm,
    OutcomeForm,
    required_fields,
)
from kabinet.resolvers.requests.reading import (
    RequestFilter,
    find_requests,
    list_requests,
    readable_of,
)

__all__ = [
    "MAX_COMMENTS",
    "TRANSITIONS",
    "Action",
    "Actor",
    "AppointmentOutcomeForm",
    "AvailableAction",
    "CallbackForm",
    "DoctorAppointmentForm",
    "LabTestsForm",
    "LabTestsOutcomeForm",
    "MedicationDecisionForm",
    "MedicationsForm",
    "MedicationsOutcomeForm",
    "OutcomeForm",
    "ReimbursementForm",
    "RequestFilter",
    "RequestForm",
    "add_comment",
    "assign_request",
    "available_actions",
    "cancel_request",
    "change_status",
    "create_request",
    "find_requests",
    "list_requests",
    "readable_of",
    "record_call_attempt",
    "required_fields",
    "upload_lab_results",
]
