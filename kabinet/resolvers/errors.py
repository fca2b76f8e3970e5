"""Expected failures of use cases, as plain values. The schema layer localises them.

The codes are the API's contract (published as the GraphQL enums `ErrorCode` and
`FieldErrorCode`, by member name); the message keys are internal and may be renamed.
"""

from dataclasses import dataclass, field
from enum import Enum, auto, unique


@unique
class ErrorCode(Enum):
    """The `code` of an expected failure: its kind, or the rule a `NotAllowed` names."""

    INVALID_INPUT = auto()
    RATE_LIMITED = auto()
    INVALID_CREDENTIALS = auto()
    TOKEN_EXPIRED = auto()
    INVALID_CODE = auto()
    NOT_FOUND = auto()
    # the rules of NotAllowed
    EMAIL_NOT_CONFIRMED = auto()
    CONTACT_ALREADY_VERIFIED = auto()
    LAST_PHONE_HAS_POLICIES = auto()
    NO_ACTIVE_POLICY = auto()
    POLICY_NOT_ACTIVE = auto()
    TRANSITION_NOT_ALLOWED = auto()
    REQUEST_CLOSED = auto()
    TOO_MANY_COMMENTS = auto()


@unique
class FieldErrorCode(Enum):
    """Why one input field is invalid; each value is the key of the message saying so."""

    REQUIRED = "field.required"
    TOO_LONG = "field.too_long"
    CONTROL_CHARACTERS = "field.control_characters"
    CHOICE_INVALID = "field.choice_invalid"
    DATE_INVALID = "field.date_invalid"
    EMAIL_INVALID = "field.email_invalid"
    EMAIL_TAKEN = "field.email_taken"
    NAME_INVALID = "field.name_invalid"
    IDEMPOTENCY_KEY_INVALID = "field.idempotency_key_invalid"
    PASSWORD_TOO_SHORT = "field.password_too_short"  # noqa: S105 - not a secret
    PASSWORD_TOO_LONG = "field.password_too_long"  # noqa: S105 - not a secret
    PASSWORD_NOT_LATIN = "field.password_not_latin"  # noqa: S105 - not a secret
    PASSWORD_NEEDS_UPPERCASE = "field.password_needs_uppercase"  # noqa: S105 - not a secret
    PASSWORD_NEEDS_DIGIT = "field.password_needs_digit"  # noqa: S105 - not a secret
    PASSWORDS_DO_NOT_MATCH = "field.passwords_do_not_match"
    PASSWORD_SAME_AS_CURRENT = "field.password_same_as_current"  # noqa: S105 - not a secret
    BIRTH_DATE_IN_FUTURE = "field.birth_date_in_future"
    BIRTH_DATE_TOO_OLD = "field.birth_date_too_old"
    CONTACT_INVALID = "field.contact_invalid"
    PHONE_NOT_UKRAINIAN_MOBILE = "field.phone_not_ukrainian_mobile"
    PHONE_TAKEN = "field.phone_taken"
    CONTACT_ALREADY_VERIFIED = "field.contact_already_verified"
    TOO_MANY_CONTACTS = "field.too_many_contacts"
    POSTAL_CODE_INVALID = "field.postal_code_invalid"
    FILES_REQUIRED = "field.files_required"
    TOO_MANY_FILES = "field.too_many_files"
    FILE_TOO_LARGE = "field.file_too_large"
    FILE_TYPE_NOT_ALLOWED = "field.file_type_not_allowed"
    FILE_UNREADABLE = "field.file_unreadable"
    TOO_MANY_ROWS = "field.too_many_rows"
    POLICY_NUMBER_INVALID = "field.policy_number_invalid"
    VALID_TO_BEFORE_VALID_FROM = "field.valid_to_before_valid_from"
    WINDOWS_REQUIRED = "field.windows_required"
    WINDOW_INVALID = "field.window_invalid"
    ITEMS_REQUIRED = "field.items_required"
    TOO_MANY_ITEMS = "field.too_many_items"
    QUANTITY_INVALID = "field.quantity_invalid"
    ADDRESS_REQUIRED = "field.address_required"
    ADDRESS_UNKNOWN = "field.address_unknown"
    AMOUNT_INVALID = "field.amount_invalid"
    CURRENCY_INVALID = "field.currency_invalid"
    SERVICE_DATE_IN_FUTURE = "field.service_date_in_future"
    SERVICE_DATE_OUTSIDE_POLICY = "field.service_date_outside_policy"
    IBAN_INVALID = "field.iban_invalid"
    IBAN_CHECKSUM_INVALID = "field.iban_checksum_invalid"
    PHONE_REQUIRED = "field.phone_required"
    SCHEDULED_AT_REQUIRED = "field.scheduled_at_required"
    STATUS_NOT_ANNOUNCED = "field.status_not_announced"


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
    key: str = "error.invalid_credentials"


@dataclass(frozen=True, slots=True)
class TokenExpired:
    key: str = "error.token_expired"


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


DomainError = (
    InvalidInput
    | RateLimited
    | InvalidCredentials
    | TokenExpired
    | InvalidCode
    | NotAllowed
    | NotFound
)
