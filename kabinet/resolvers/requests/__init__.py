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
    Actor,
    add_comment,
    assign_request,
    cancel_request,
    change_status,
)
from kabinet.resolvers.requests.reading import (
    OPEN,
    RequestFilter,
    RequestOrder,
    count_open,
    count_open_each,
    count_overdue,
    find_requests,
    list_requests,
    readable_of,
)

__all__ = [
    "MAX_COMMENTS",
    "OPEN",
    "TRANSITIONS",
    "Actor",
    "CallbackForm",
    "DoctorAppointmentForm",
    "LabTestsForm",
    "MedicationsForm",
    "ReimbursementForm",
    "RequestFilter",
    "RequestForm",
    "RequestOrder",
    "add_comment",
    "assign_request",
    "cancel_request",
    "change_status",
    "count_open",
    "count_open_each",
    "count_overdue",
    "create_request",
    "find_requests",
    "list_requests",
    "readable_of",
]
