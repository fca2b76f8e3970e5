"""Expected failures of use cases, as plain values. The schema layer localises them.

The codes are the API's contract (published as the GraphQL enums `ErrorCode` and
`FieldErrorCode`, by member name); the message keys are internal and may be renamed.
"""

from dataclasses import dataclass, field
from enum import Enum, auto, unique

from kabinet.i18n import N_


@unique
class ErrorCode(Enum):
    """The `code` of an expected failure: its kind, or the rule a `NotAllowed` names."""

    INVALID_INPUT = auto()
    RATE_LIMITED = auto()
    INVALID_CREDENTIALS = auto()
    TOKEN_EXPIRED = auto()
    INVALID_CODE = auto()
    NOT_FOUND = auto()
    ASSIGNMENT_CONFLICT = auto()
    # the rules of NotAllowed
    EMAIL_NOT_CONFIRMED = auto()
    CONTACT_ALREADY_VERIFIED = auto()
    LAST_PHONE_HAS_POLICIES = auto()
    NO_ACTIVE_POLICY = auto()
    POLICY_NOT_ACTIVE = auto()
    TRANSITION_NOT_ALLOWED = auto()
    REQUEST_CLOSED = auto()
    TOO_MANY_COMMENTS = auto()
    ASSIGNMENT_NOT_ALLOWED = auto()


@unique
class FieldErrorCode(Enum):
    """Why one input field is invalid; each value is the key of the message saying so."""

    REQUIRED = N_("field.required")
    TOO_LONG = N_("field.too_long")
    CONTROL_CHARACTERS = N_("field.control_characters")
    CHOICE_INVALID = N_("field.choice_invalid")
    DATE_INVALID = N_("field.date_invalid")
    EMAIL_INVALID = N_("field.email_invalid")
    EMAIL_TAKEN = N_("field.email_taken")
    NAME_INVALID = N_("field.name_invalid")
    IDEMPOTENCY_KEY_INVALID = N_("field.idempotency_key_invalid")
    PASSWORD_TOO_SHORT = N_("field.password_too_short")
    PASSWORD_TOO_LONG = N_("field.password_too_long")
    PASSWORD_NOT_LATIN = N_("field.password_not_latin")
    PASSWORD_NEEDS_UPPERCASE = N_("field.password_needs_uppercase")
    PASSWORD_NEEDS_DIGIT = N_("field.password_needs_digit")
    PASSWORDS_DO_NOT_MATCH = N_("field.passwords_do_not_match")
    PASSWORD_SAME_AS_CURRENT = N_("field.password_same_as_current")
    BIRTH_DATE_IN_FUTURE = N_("field.birth_date_in_future")
    BIRTH_DATE_TOO_OLD = N_("field.birth_date_too_old")
    CONTACT_INVALID = N_("field.contact_invalid")
    PHONE_NOT_UKRAINIAN_MOBILE = N_("field.phone_not_ukrainian_mobile")
    PHONE_TAKEN = N_("field.phone_taken")
    CONTACT_ALREADY_VERIFIED = N_("field.contact_already_verified")
    TOO_MANY_CONTACTS = N_("field.too_many_contacts")
    POSTAL_CODE_INVALID = N_("field.postal_code_invalid")
    FILES_REQUIRED = N_("field.files_required")
    TOO_MANY_FILES = N_("field.too_many_files")
    FILE_TOO_LARGE = N_("field.file_too_large")
    FILE_TYPE_NOT_ALLOWED = N_("field.file_type_not_allowed")
    FILE_UNREADABLE = N_("field.file_unreadable")
    TOO_MANY_ROWS = N_("field.too_many_rows")
    POLICY_NUMBER_INVALID = N_("field.policy_number_invalid")
    VALID_TO_BEFORE_VALID_FROM = N_("field.valid_to_before_valid_from")
    GUARDIAN_ACCESS_NOT_CHILD = N_("field.guardian_access_not_child")
    WINDOWS_REQUIRED = N_("field.windows_required")
    WINDOW_INVALID = N_("field.window_invalid")
    ITEMS_REQUIRED = N_("field.items_required")
    TOO_MANY_ITEMS = N_("field.too_many_items")
    QUANTITY_INVALID = N_("field.quantity_invalid")
    ADDRESS_REQUIRED = N_("field.address_required")
    ADDRESS_UNKNOWN = N_("field.address_unknown")
    AMOUNT_INVALID = N_("field.amount_invalid")
    CURRENCY_INVALID = N_("field.currency_invalid")
    SERVICE_DATE_IN_FUTURE = N_("field.service_date_in_future")
    SERVICE_DATE_OUTSIDE_POLICY = N_("field.service_date_outside_policy")
    IBAN_INVALID = N_("field.iban_invalid")
    IBAN_CHECKSUM_INVALID = N_("field.iban_checksum_invalid")
    PHONE_REQUIRED = N_("field.phone_required")
    SCHEDULED_AT_REQUIRED = N_("field.scheduled_at_required")
    STATUS_NOT_ANNOUNCED = N_("field.status_not_announced")
    ASSIGNEE_NOT_STAFF = N_("field.assignee_not_staff")
    STAFF_ONLY = N_("field.staff_only")
    OUTCOME_REQUIRED = N_("field.outcome_required")
    OUTCOME_KIND_MISMATCH = N_("field.outcome_kind_mismatch")
    OUTCOME_ITEMS_MISMATCH = N_("field.outcome_items_mismatch")
    TIME_NOT_IN_FUTURE = N_("field.time_not_in_future")
    RESULT_TYPE_NOT_ALLOWED = N_("field.result_type_not_allowed")
    AMOUNT_ABOVE_MAXIMUM = N_("field.amount_above_maximum")
    OUTCOME_DOCUMENTS_MISMATCH = N_("field.outcome_documents_mismatch")
    REFUSAL_REQUIRED = N_("field.refusal_required")
    DECISION_REQUIRED = N_("field.decision_required")
    OUTCOME_NOT_EXPECTED = N_("field.outcome_not_expected")
    LIMIT_INVALID = N_("field.limit_invalid")
    COPAYMENT_INVALID = N_("field.copayment_invalid")
    WAITING_DAYS_INVALID = N_("field.waiting_days_invalid")
    VERSIONS_OVERLAP = N_("field.versions_overlap")
    BENEFIT_DUPLICATE = N_("field.benefit_duplicate")
    PHONE_INVALID = N_("field.phone_invalid")
    COORDINATES_INVALID = N_("field.coordinates_invalid")
    COORDINATES_INCOMPLETE = N_("field.coordinates_incomplete")
    OPENING_HOURS_INVALID = N_("field.opening_hours_invalid")
    PROVIDER_CODE_INVALID = N_("field.provider_code_invalid")
    PROVIDER_UNKNOWN = N_("field.provider_unknown")
    PROVIDER_KIND_MISMATCH = N_("field.provider_kind_mismatch")
    RADIUS_INVALID = N_("field.radius_invalid")
    NEAR_TOO_BROAD = N_("field.near_too_broad")


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One invalid input field: its path in the input, why, and the message's parameters."""

    field: str
    code: FieldErrorCode
    params: dict[str, object] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.code.value


@dataclass(frozen=True, slots=True)
class InvalidInput:
    problems: list[FieldProblem]


@dataclass(frozen=True, slots=True)
class RateLimited:
    retry_after_seconds: int


@dataclass(frozen=True, slots=True)
class InvalidCredentials:
    key: str = N_("error.invalid_credentials")


@dataclass(frozen=True, slots=True)
class TokenExpired:
    key: str = N_("error.token_expired")


@dataclass(frozen=True, slots=True)
class InvalidCode:
    attempts_left: int


@dataclass(frozen=True, slots=True)
class NotAllowed:
    """A state rule forbids the action; ``code`` names the rule, ``key`` explains it."""

    code: ErrorCode
    key: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NotFound:
    pass


@dataclass(frozen=True, slots=True)
class AssignmentConflict:
    """Someone else changed who handles the request since the caller read it."""

    key: str = N_("error.assignment_conflict")


DomainError = (
    InvalidInput
    | RateLimited
    | InvalidCredentials
    | TokenExpired
    | InvalidCode
    | NotAllowed
    | NotFound
    | AssignmentConflict
)
