"""Typed, localised errors (members of result unions) and the GraphQL errors for access.

Their codes are published enums: `ErrorCode` (`Error.code`), `FieldErrorCode`
(`FieldError.code`) and `GraphQLErrorCode` (`extensions.code` of the response's `errors`).
"""

from enum import StrEnum
from typing import Any

import strawberry
from graphql import GraphQLError

from kabinet.i18n import Locale, Wait, translate
from kabinet.resolvers import errors as domain
from kabinet.resolvers.errors import ErrorCode, FieldErrorCode
from kabinet.schema.enums import publish

publish(
    ErrorCode,
    description="The `code` of an expected failure (`Error.code`): what kind it is, or, for "
    "`NotAllowed`, which rule refused the action. Switch on it; show `message`. Values are "
    "only ever added.",
    values={
        ErrorCode.INVALID_INPUT: "`InputError`: some input fields are invalid (see `fields`).",
        ErrorCode.RATE_LIMITED: "`RateLimited`: too many attempts; wait `retryAfterSeconds`.",
        ErrorCode.INVALID_CREDENTIALS: "`InvalidCredentials`: the email or password is wrong.",
        ErrorCode.TOKEN_EXPIRED: "`TokenExpired`: the link or code is unknown, used or "
        "expired; ask for a new one.",
        ErrorCode.INVALID_CODE: "`InvalidCode`: the contact code is wrong (see `attemptsLeft`).",
        ErrorCode.NOT_FOUND: "`NotFound`: no such object, or it is not yours to see.",
        ErrorCode.ASSIGNMENT_CONFLICT: "`AssignmentConflict`: another staff member took or "
        "released the request first; read it again.",
        ErrorCode.EMAIL_NOT_CONFIRMED: "`NotAllowed`: the password is right but the email is "
        "not confirmed yet; follow the emailed link (or ask for a new one).",
        ErrorCode.CONTACT_ALREADY_VERIFIED: "`NotAllowed`: the contact is already confirmed; "
        "no code is needed.",
        ErrorCode.LAST_PHONE_HAS_POLICIES: "`NotAllowed`: cards are linked through this "
        "phone, the account's last confirmed one.",
        ErrorCode.NO_ACTIVE_POLICY: "`NotAllowed`: the account has no card to file a request "
        "against.",
        ErrorCode.POLICY_NOT_ACTIVE: "`NotAllowed`: the card (or every linked card) is not in "
        "force today.",
        ErrorCode.TRANSITION_NOT_ALLOWED: "`NotAllowed`: the request's current status does not "
        "allow this change (someone may have changed it first).",
        ErrorCode.REQUEST_CLOSED: "`NotAllowed`: the request is completed, rejected or cancelled.",
        ErrorCode.TOO_MANY_COMMENTS: "`NotAllowed`: the request holds the most comments it may.",
        ErrorCode.ASSIGNMENT_NOT_ALLOWED: "`NotAllowed`: an operator takes requests only for "
        "themselves and releases only their own; an administrator assigns to anyone.",
    },
)

publish(
    FieldErrorCode,
    description="Why one input field is invalid (`FieldError.code`); `message` says it in the "
    "person's language, with the limits. Values are only ever added.",
    values={
        FieldErrorCode.REQUIRED: "Empty, but required.",
        FieldErrorCode.TOO_LONG: "Longer than the field allows.",
        FieldErrorCode.CONTROL_CHARACTERS: "Holds control characters or text-direction overrides.",
        FieldErrorCode.CHOICE_INVALID: "Not one of the allowed values.",
        FieldErrorCode.DATE_INVALID: "Not a date.",
        FieldErrorCode.EMAIL_INVALID: "Not an email address.",
        FieldErrorCode.EMAIL_TAKEN: "An account with this email exists.",
        FieldErrorCode.NAME_INVALID: "Not a name: letters, single spaces, hyphens and "
        "apostrophes between them.",
        FieldErrorCode.IDEMPOTENCY_KEY_INVALID: "Not 8-128 characters of letters, digits, `_` "
        "and `-`.",
        FieldErrorCode.PASSWORD_TOO_SHORT: "Shorter than `PasswordPolicy.minLength`.",
        FieldErrorCode.PASSWORD_TOO_LONG: "Longer than `PasswordPolicy.maxLength`.",
        FieldErrorCode.PASSWORD_NOT_LATIN: "Holds characters other than printable ASCII "
        "without spaces.",
        FieldErrorCode.PASSWORD_NEEDS_UPPERCASE: "Has no capital Latin letter.",
        FieldErrorCode.PASSWORD_NEEDS_DIGIT: "Has no digit.",
        FieldErrorCode.PASSWORDS_DO_NOT_MATCH: "The password typed again differs.",
        FieldErrorCode.PASSWORD_SAME_AS_CURRENT: "The new password is the current one.",
        FieldErrorCode.BIRTH_DATE_IN_FUTURE: "A birth date in the future.",
        FieldErrorCode.BIRTH_DATE_TOO_OLD: "A birth date before the earliest accepted year.",
        FieldErrorCode.CONTACT_INVALID: "Neither a phone number nor an email address.",
        FieldErrorCode.PHONE_NOT_UKRAINIAN_MOBILE: "A phone number, but not a Ukrainian mobile.",
        FieldErrorCode.PHONE_TAKEN: "The phone is confirmed on another account; the person "
        "should call the contact centre.",
        FieldErrorCode.CONTACT_ALREADY_VERIFIED: "The account already has this contact, confirmed.",
        FieldErrorCode.TOO_MANY_CONTACTS: "The account has the most contacts it may.",
        FieldErrorCode.POSTAL_CODE_INVALID: "Not five digits.",
        FieldErrorCode.FILES_REQUIRED: "No file attached, but at least one is required.",
        FieldErrorCode.TOO_MANY_FILES: "More files than allowed.",
        FieldErrorCode.FILE_TOO_LARGE: "A file larger than allowed.",
        FieldErrorCode.FILE_TYPE_NOT_ALLOWED: "A file that is not PDF, JPEG, PNG or HEIC (by "
        "its content).",
        FieldErrorCode.FILE_UNREADABLE: "The file is not CSV or JSON in UTF-8.",
        FieldErrorCode.TOO_MANY_ROWS: "More rows than one import takes.",
        FieldErrorCode.POLICY_NUMBER_INVALID: "Not a card number (Latin letters, digits, `-`, `.`, "
        "`/`).",
        FieldErrorCode.VALID_TO_BEFORE_VALID_FROM: "The last day of cover is before the first.",
        FieldErrorCode.GUARDIAN_ACCESS_NOT_CHILD: "A guardian-access date on a card whose "
        "relationship is not `child`.",
        FieldErrorCode.WINDOWS_REQUIRED: "No time window given.",
        FieldErrorCode.WINDOW_INVALID: "A time window that is past, or ends before it starts.",
        FieldErrorCode.ITEMS_REQUIRED: "An empty list, but at least one item is required.",
        FieldErrorCode.TOO_MANY_ITEMS: "More items than allowed.",
        FieldErrorCode.QUANTITY_INVALID: "A quantity out of range.",
        FieldErrorCode.ADDRESS_REQUIRED: "A home visit needs an address.",
        FieldErrorCode.ADDRESS_UNKNOWN: "Not one of the account's addresses.",
        FieldErrorCode.AMOUNT_INVALID: "Not a positive amount with at most two decimals, or too "
        "large.",
        FieldErrorCode.CURRENCY_INVALID: "Not one of the accepted currencies.",
        FieldErrorCode.SERVICE_DATE_IN_FUTURE: "A service date in the future.",
        FieldErrorCode.SERVICE_DATE_OUTSIDE_POLICY: "A service date outside the card's validity.",
        FieldErrorCode.IBAN_INVALID: "Not a Ukrainian IBAN in the IBAN registry's format: "
        "`UA`, two check digits, a six-digit bank code, then 19 letters or digits (29 "
        "characters; spaces, dashes and dots ignored).",
        FieldErrorCode.IBAN_CHECKSUM_INVALID: "A Ukrainian IBAN whose check digits fail.",
        FieldErrorCode.PHONE_REQUIRED: "No phone given, and the account has no confirmed one.",
        FieldErrorCode.SCHEDULED_AT_REQUIRED: "`SCHEDULED` needs a future `scheduledAt`.",
        FieldErrorCode.STATUS_NOT_ANNOUNCED: "`SUBMITTED`, which is never announced: the person "
        "files the request.",
        FieldErrorCode.ASSIGNEE_NOT_STAFF: "Not a staff member's account (an operator or an "
        "administrator).",
        FieldErrorCode.STAFF_ONLY: "Only the contact centre may set it (e.g. `internal`).",
        FieldErrorCode.OUTCOME_REQUIRED: "This status change needs the outcome of the "
        "request's kind (see `availableActions`).",
        FieldErrorCode.OUTCOME_KIND_MISMATCH: "An outcome of another kind than the request's.",
        FieldErrorCode.AMOUNT_ABOVE_MAXIMUM: "More than allowed: the claimed amount for a "
        "decision, the approved one for a payout.",
        FieldErrorCode.OUTCOME_DOCUMENTS_MISMATCH: "Not one decision for each of the request's "
        "files (`attachments`).",
        FieldErrorCode.REFUSAL_REQUIRED: "A refusal, or an amount below the claimed one, needs "
        "at least one reason.",
        FieldErrorCode.DECISION_REQUIRED: "A payout needs an approved reimbursement decision "
        "first.",
        FieldErrorCode.OUTCOME_NOT_EXPECTED: "This status change takes no outcome (see "
        "`availableActions`).",
        FieldErrorCode.LIMIT_INVALID: "A limit that is negative, not a number, or an amount "
        "with more than two decimals.",
        FieldErrorCode.COPAYMENT_INVALID: "A co-payment that is not a whole percent from 0 to 100.",
        FieldErrorCode.WAITING_DAYS_INVALID: "A waiting period that is not a whole number of "
        "days from 0 to 3660.",
        FieldErrorCode.VERSIONS_OVERLAP: "Two versions of one programme apply from the same day.",
        FieldErrorCode.BENEFIT_DUPLICATE: "A version lists one kind of benefit twice.",
        FieldErrorCode.RESULT_TYPE_NOT_ALLOWED: "Results must be PDF, JPEG or PNG.",
        FieldErrorCode.PHONE_INVALID: "Not a Ukrainian phone number (landline, mobile or 0 800).",
        FieldErrorCode.COORDINATES_INVALID: "Latitude outside -90..90 or longitude outside "
        "-180..180 degrees, or not a number.",
        FieldErrorCode.COORDINATES_INCOMPLETE: "Only one of latitude and longitude: give both "
        "or neither.",
        FieldErrorCode.OPENING_HOURS_INVALID: "Opening hours not as docs/provider-import.md "
        'writes them (e.g. "mon-fri 08:00-20:00; sat 09:00-14:00" or "24/7").',
        FieldErrorCode.PROVIDER_CODE_INVALID: "A provider code is 1-40 Latin letters, digits, "
        "`.`, `/`, `_` or `-`.",
        FieldErrorCode.PROVIDER_UNKNOWN: "No provider of the directory has this id.",
        FieldErrorCode.PROVIDER_KIND_MISMATCH: "The provider is not of the kind this request "
        "goes to (`allowed` in the message: CLINIC, LABORATORY or PHARMACY).",
        FieldErrorCode.RADIUS_INVALID: "The radius is above zero and at most 100 km.",
        FieldErrorCode.NEAR_TOO_BROAD: "Too many providers within the radius to rank: narrow "
        "the radius or the filter.",
        FieldErrorCode.TIME_NOT_IN_FUTURE: "A time that has passed where a future one is needed.",
        FieldErrorCode.OUTCOME_ITEMS_MISMATCH: "Not one decision per requested item, in the "
        "request's order.",
    },
)


class GraphQLErrorCode(StrEnum):
    """The `extensions.code` of an error in a response's `errors` (not of a union member)."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    TOO_DEEP = "TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_FIELDS = "TOO_MANY_FIELDS"
    TOO_MANY_OBJECTS = "TOO_MANY_OBJECTS"
    TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
    EVENTS_INTERRUPTED = "EVENTS_INTERRUPTED"
    TOO_MANY_CONNECTIONS = "TOO_MANY_CONNECTIONS"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    PERSISTED_QUERY_REQUIRED = "PERSISTED_QUERY_REQUIRED"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"


publish(
    GraphQLErrorCode,
    description="The `extensions.code` of an error in the response's `errors` list: the "
    "failures that are not data (no field returns this enum; it is published for clients "
    "to type their error handling). An error without a code is a document, variable or id "
    "the schema refuses, e.g. a syntax error.",
    values={
        GraphQLErrorCode.UNAUTHENTICATED: "No, unknown or ended session: sign in. Also the "
        "`connection_error` payload of a refused sign-in on the older `graphql-ws` protocol.",
        GraphQLErrorCode.FORBIDDEN: "Signed in, but the role may not do this.",
        GraphQLErrorCode.INTERNAL_SERVER_ERROR: "A bug or an outage; report "
        "`extensions.requestId`.",
        GraphQLErrorCode.TOO_DEEP: "The document nests deeper than allowed (`extensions.count`, "
        "`extensions.limit`).",
        GraphQLErrorCode.TOO_MANY_ALIASES: "The document has more aliases than allowed "
        "(`extensions.count`, `extensions.limit`).",
        GraphQLErrorCode.TOO_MANY_FIELDS: "The document selects more fields than allowed, "
        "fragments expanded (`extensions.count`, `extensions.limit`).",
        GraphQLErrorCode.TOO_MANY_OBJECTS: "The document may return more objects than allowed "
        "(`extensions.objects`, `extensions.limit`): ask for smaller pages.",
        GraphQLErrorCode.TOO_MANY_SUBSCRIPTIONS: "A subscription over the limit of the account "
        "or the address (`extensions.limit`); the socket stays open.",
        GraphQLErrorCode.EVENTS_INTERRUPTED: "A subscription ended because changes could not "
        "all be delivered live: subscribe again with `since`.",
        GraphQLErrorCode.TOO_MANY_CONNECTIONS: "The `connection_error` payload on the older "
        "`graphql-ws` protocol before a socket over the limit is closed with 4429.",
        GraphQLErrorCode.INVALID_CURSOR: "`after` is not a cursor of this list in this order "
        "(`extensions.argument`); start again without it.",
        GraphQLErrorCode.INVALID_ARGUMENT: "An argument of a list is invalid (the `filter` of "
        "`providers`): `extensions.fields` lists each invalid field as `InputError.fields` "
        "does (`field`, `code`: a `FieldErrorCode`, `message`).",
        GraphQLErrorCode.PERSISTED_QUERY_NOT_FOUND: "The document id (`documentId`, or "
        "`extensions.persistedQuery.sha256Hash`) is in no approved manifest (HTTP 400).",
        GraphQLErrorCode.PERSISTED_QUERY_HASH_MISMATCH: "A document sent with an id whose "
        "SHA-256 is not that id (HTTP 400).",
        GraphQLErrorCode.PERSISTED_QUERY_REQUIRED: "This server runs only approved documents, "
        "by id: a full document was sent (HTTP 400).",
        GraphQLErrorCode.PERSISTED_QUERY_NOT_SUPPORTED: "This server takes no document ids "
        "(`KABINET_TRUSTED_DOCUMENTS=off`): send the document (HTTP 400).",
    },
)


@strawberry.interface(description="An expected failure: a stable `code` and a localised message.")
class Error:
    message: str = strawberry.field(description="What went wrong and what to do next, localised.")
    code: ErrorCode = strawberry.field(description="Stable machine-readable code of the failure.")


@strawberry.type(description="A problem with one input field.")
class FieldError:
    field: str = strawberry.field(description="Path of the field in the input, e.g. `password`.")
    code: FieldErrorCode = strawberry.field(description="Stable code, e.g. `PASSWORD_TOO_SHORT`.")
    message: str = strawberry.field(description="Localised explanation for the person.")


@strawberry.type(description="The input is invalid; nothing was changed.")
class InputError(Error):
    fields: list[FieldError] = strawberry.field(description="Every invalid field.")


@strawberry.type(description="No such object, or it is not yours to see.")
class NotFound(Error):
    pass


@strawberry.type(description="Too many attempts; try again later.")
class RateLimited(Error):
    retry_after_seconds: int = strawberry.field(description="Seconds until the next attempt.")


@strawberry.type(description="The code is wrong; after the last attempt it is dead.")
class InvalidCode(Error):
    attempts_left: int = strawberry.field(
        description="Attempts left for this code; 0 means: request a new code."
    )


@strawberry.type(description="The email or password (or the password alone) is wrong.")
class InvalidCredentials(Error):
    pass


@strawberry.type(description="The link or code is unknown, used or expired; ask for a new one.")
class TokenExpired(Error):
    pass


@strawberry.type(description="A rule forbids this now; `code` names the rule.")
class NotAllowed(Error):
    pass


@strawberry.type(
    description="Another staff member took or released the request first (two took it at "
    "once: one wins); nothing was changed. Read it again."
)
class AssignmentConflict(Error):
    pass


def to_graphql(error: domain.DomainError, locale: Locale) -> Any:
    """The union member the client sees for a use case's expected failure.

    Typed as ``Any`` because it stands for whichever error members the calling
    field's union has; the use case's own return type already limits ``error``.
    """
    match error:
        case domain.InvalidInput(problems=problems):
            return InputError(
                code=ErrorCode.INVALID_INPUT,
                message=translate("error.input", locale),
                fields=[
                    FieldError(
                        field=problem.field,
                        code=problem.code,
                        message=translate(problem.key, locale, **problem.params),
                    )
                    for problem in problems
                ],
            )
        case domain.RateLimited(retry_after_seconds=seconds):
            return RateLimited(
                code=ErrorCode.RATE_LIMITED,
                message=translate("error.rate_limited", locale, wait=Wait(seconds)),
                retry_after_seconds=seconds,
            )
        case domain.InvalidCredentials(key=key):
            return InvalidCredentials(
                code=ErrorCode.INVALID_CREDENTIALS, message=translate(key, locale)
            )
        case domain.TokenExpired(key=key):
            return TokenExpired(code=ErrorCode.TOKEN_EXPIRED, message=translate(key, locale))
        case domain.InvalidCode(attempts_left=attempts_left):
            return InvalidCode(
                code=ErrorCode.INVALID_CODE,
                message=translate("error.code_invalid", locale, attempts_left=attempts_left)
                if attempts_left
                else translate("error.code_dead", locale),
                attempts_left=attempts_left,
            )
        case domain.NotAllowed(code=code, key=key, params=params):
            return NotAllowed(code=code, message=translate(key, locale, **params))
        case domain.AssignmentConflict(key=key):
            return AssignmentConflict(
                code=ErrorCode.ASSIGNMENT_CONFLICT, message=translate(key, locale)
            )
        case domain.NotFound():
            return NotFound(code=ErrorCode.NOT_FOUND, message=translate("error.not_found", locale))


def invalid_cursor(locale: Locale) -> GraphQLError:
    """The error of a list's `after` that is not a cursor of that list in that order."""
    return GraphQLError(
        translate("error.cursor_invalid", locale),
        extensions={"code": GraphQLErrorCode.INVALID_CURSOR, "argument": "after"},
    )
