"""The domain's enums, published to GraphQL as they are.

Strawberry takes the domain's own classes, so a resolver returns and receives the
domain's members with no conversion; the GraphQL names are the members' names.
"""

import dataclasses
from collections.abc import Mapping
from enum import Enum

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition

from kabinet import documents
from kabinet.i18n import Locale as LocaleValue
from kabinet.resolvers import coverage
from kabinet.resolvers.policies import LookupStatus
from kabinet.resolvers.requests import Action
from kabinet.resolvers.requests.reading import RequestOrder as RequestOrderValue
from kabinet.roles import Role as RoleValue


def publish[E: type[Enum]](
    enum: E, *, description: str, values: Mapping[object, str], name: str | None = None
) -> E:
    """``enum`` as the GraphQL enum ``name`` (its class name by default), its members
    under their own names, each described by ``values``."""
    if set(values) != set(enum):
        raise ValueError(f"describe each member of {enum.__name__} once: {set(enum) ^ set(values)}")
    strawberry.enum(enum, name=name, description=description)
    definition: StrawberryEnumDefinition = enum.__strawberry_definition__  # type: ignore[attr-defined]
    definition.values = [
        dataclasses.replace(value, description=values[member])
        for member, value in zip(enum, definition.values, strict=True)
    ]
    return enum


Role = publish(
    RoleValue,
    description="What an account may do.",
    values={
        RoleValue.CUSTOMER: "An insured person: their own account, cards and requests.",
        RoleValue.OPERATOR: "The contact centre: every person's requests and cards.",
        RoleValue.ADMIN: "An operator who may also import the card registry and read the "
        "security log.",
    },
)

Locale = publish(
    LocaleValue,
    description="Language of messages, emails and SMS.",
    values={LocaleValue.UK: "Ukrainian, the default.", LocaleValue.EN: "English."},
)

Gender = publish(
    documents.Gender,
    description="Gender as in the insurance contract.",
    values={documents.Gender.FEMALE: "Female.", documents.Gender.MALE: "Male."},
)

AddressKind = publish(
    documents.AddressKind,
    description="Which of the account's two addresses.",
    values={
        documents.AddressKind.HOME: "Where the person lives.",
        documents.AddressKind.ADDITIONAL: "Another address, e.g. work.",
    },
)

ContactKind = publish(
    documents.ContactKind,
    description="What a contact is.",
    values={
        documents.ContactKind.PHONE: "A Ukrainian mobile number, E.164.",
        documents.ContactKind.EMAIL: "An email address.",
    },
)

PolicyStatus = publish(
    documents.PolicyStatus,
    description="Whether the card can be used now.",
    values={
        documents.PolicyStatus.ACTIVE: "In force within its validity dates.",
        documents.PolicyStatus.SUSPENDED: "Stopped by the insurer for now.",
        documents.PolicyStatus.EXPIRED: "Ended.",
    },
)

Relationship = publish(
    documents.Relationship,
    description="Of the insured person to the owner of the phone.",
    values={
        documents.Relationship.SELF: "The owner of the phone is the insured person.",
        documents.Relationship.CHILD: "The insured person is the owner's child.",
        documents.Relationship.SPOUSE: "The insured person is the owner's spouse.",
        documents.Relationship.OTHER: "Another relation.",
    },
)

PolicyLookupStatus = publish(
    LookupStatus,
    name="PolicyLookupStatus",
    description="Why cards are shown or not.",
    values={
        LookupStatus.NO_VERIFIED_PHONE: "The account has no confirmed phone to find cards by.",
        LookupStatus.NO_CARD_FOUND: "No card in the registry lists a confirmed phone of the "
        "account.",
        LookupStatus.NO_CARD_IN_FORCE: "Cards are linked, but none is in force today (expired "
        "or suspended); there is no active card until one is.",
        LookupStatus.FOUND: "Cards are linked and one is active.",
    },
)

RequestKind = publish(
    documents.RequestKind,
    description="What the person asks for.",
    values={
        documents.RequestKind.DOCTOR_APPOINTMENT: "A visit to a doctor, or a doctor at home.",
        documents.RequestKind.MEDICATIONS: "Medications delivered.",
        documents.RequestKind.LAB_TESTS: "Laboratory tests, possibly taken at home.",
        documents.RequestKind.REIMBURSEMENT: "Money back for a service paid for.",
        documents.RequestKind.CALLBACK: "A call from the contact centre.",
    },
)

RequestOrder = publish(
    RequestOrderValue,
    description="The order of the requests in `requestQueue`.",
    values={
        RequestOrderValue.NEWEST: "Newest filed first (the default).",
        RequestOrderValue.DUE_SOONEST: "Soonest due first (`Request.dueAt`); only the requests "
        "with a due time (not those waiting for the person, scheduled, approved or closed).",
    },
)

RequestStatus = publish(
    documents.RequestStatus,
    description="Where a request is in its processing.",
    values={
        documents.RequestStatus.SUBMITTED: "Filed, not yet taken up.",
        documents.RequestStatus.IN_PROGRESS: "An operator is working on it.",
        documents.RequestStatus.NEEDS_INFO: "The operator asks the person for more; answer "
        "with a comment.",
        documents.RequestStatus.SCHEDULED: "Planned for `scheduledAt`.",
        documents.RequestStatus.APPROVED: "Accepted; to be carried out.",
        documents.RequestStatus.COMPLETED: "Done (final).",
        documents.RequestStatus.REJECTED: "Refused by the contact centre (final).",
        documents.RequestStatus.CANCELLED: "Cancelled by the person (final).",
    },
)

ItemDecision = publish(
    documents.ItemDecision,
    description="What became of one requested medication.",
    values={
        documents.ItemDecision.APPROVED: "Given as asked.",
        documents.ItemDecision.SUBSTITUTED: "Another is given instead (`substitute`).",
        documents.ItemDecision.REFUSED: "Not given.",
    },
)

Handover = publish(
    documents.Handover,
    description="How the person gets the medications.",
    values={
        documents.Handover.DELIVERY: "Delivered to the request's delivery address.",
        documents.Handover.PHARMACY_PICKUP: "Picked up at a pharmacy (`pharmacyName`, "
        "`pharmacyAddress`).",
    },
)

CallResult = publish(
    documents.CallResult,
    description="How a call to the person went.",
    values={
        documents.CallResult.REACHED: "The person answered.",
        documents.CallResult.NO_ANSWER: "Nobody answered.",
        documents.CallResult.WRONG_NUMBER: "The number is not the person's.",
    },
)

RefusalReason = publish(
    documents.RefusalReason,
    description="Why a reimbursement was refused, in whole or in part.",
    values={
        documents.RefusalReason.NOT_COVERED: "The service is not covered by the programme.",
        documents.RefusalReason.MISSING_DOCUMENTS: "Documents are missing.",
        documents.RefusalReason.INVALID_DOCUMENTS: "Documents are unreadable or invalid.",
        documents.RefusalReason.OUTSIDE_POLICY_PERIOD: "The service was outside the card's "
        "validity.",
        documents.RefusalReason.LIMIT_EXCEEDED: "The programme's limit is used up.",
        documents.RefusalReason.DUPLICATE_CLAIM: "Already claimed.",
        documents.RefusalReason.OTHER: "Another reason, given in `text`.",
    },
)

PayoutStatus = publish(
    documents.PayoutStatus,
    description="Where a reimbursement's payment is.",
    values={
        documents.PayoutStatus.PENDING: "Ordered, not yet paid.",
        documents.PayoutStatus.PAID: "Paid (`paidOn`, `reference`).",
    },
)

RequestAction = publish(
    Action,
    name="RequestAction",
    description="What can be done to a request (`Request.availableActions`).",
    values={
        Action.CHANGE_STATUS: "Staff: `changeRequestStatus` to `status`, with `requiredFields`.",
        Action.CANCEL: "The owner: `cancelRequest` (to CANCELLED).",
        Action.COMMENT: "`addComment` (the owner's answers a NEEDS_INFO request).",
        Action.TAKE: "Staff: `assignRequest` to yourself.",
        Action.RELEASE: "Staff: `assignRequest` with `operatorId: null`.",
        Action.RECORD_CALL_ATTEMPT: "Staff: `recordCallAttempt` (a callback).",
        Action.UPLOAD_LAB_RESULTS: "Staff: `uploadLabResults` (lab tests).",
        Action.RECORD_PAYOUT: "Staff: `recordPayout` (an approved reimbursement).",
    },
)

SecurityAction = publish(
    documents.AuditAction,
    name="SecurityAction",
    description="What happened.",
    values={
        documents.AuditAction.LOGIN: "A sign-in.",
        documents.AuditAction.LOGIN_FAILED: "A refused sign-in (`after` holds the reason).",
        documents.AuditAction.LOGOUT: "A session ended.",
        documents.AuditAction.LOGOUT_EVERYWHERE: "Every session of the account ended.",
        documents.AuditAction.EMAIL_CONFIRMED: "The account's email was confirmed.",
        documents.AuditAction.PASSWORD_CHANGED: "The password was changed.",
        documents.AuditAction.PASSWORD_RESET_REQUESTED: "A password reset link was asked for.",
        documents.AuditAction.PASSWORD_RESET: "The password was reset by an emailed link.",
        documents.AuditAction.DATA_EXPORTED: "The person exported their data.",
        documents.AuditAction.ACCOUNT_DELETED: "The account was deleted.",
        documents.AuditAction.CONTACT_ADDED: "A phone or email was added.",
        documents.AuditAction.CONTACT_VERIFIED: "A phone or email was confirmed by its code.",
        documents.AuditAction.CONTACT_REMOVED: "A phone or email was removed.",
        documents.AuditAction.REQUEST_STATUS_CHANGED: "A request's status changed.",
        documents.AuditAction.REQUEST_COMMENTED: "A comment was added to a request "
        "(`after.internal`: a staff note the person does not see).",
        documents.AuditAction.REQUEST_ASSIGNED: "Staff took, released or reassigned a request "
        "(`before`/`after.assignee`: the staff account's id, null for nobody).",
        documents.AuditAction.REQUEST_OUTCOME_RECORDED: "Staff added to a request's outcome "
        "outside a status change (`after`: what, e.g. a call attempt's result).",
        documents.AuditAction.POLICY_PHONES_UPDATED: "Staff changed a card's phones.",
        documents.AuditAction.POLICIES_IMPORTED: "An administrator imported the card registry.",
        documents.AuditAction.PROVIDERS_IMPORTED: "An administrator imported the provider "
        "directory.",
        documents.AuditAction.CARD_ISSUED: "A card PDF was downloaded, with a new verification "
        "link in its QR code (`after.expiresAt`).",
        documents.AuditAction.CARD_LINKS_REVOKED: "The verification links of a card issued so "
        "far were revoked (`revokeCardLinks`).",
        documents.AuditAction.LINK_KEY_ROTATED: "The key that signs download links was "
        "replaced (`kabinet rotate-link-key`): every link issued before stopped opening.",
    },
)

BenefitKind = publish(
    documents.BenefitKind,
    description="A kind of cover a programme gives.",
    values={
        documents.BenefitKind.OUTPATIENT_VISITS: "Doctor visits at a clinic (a "
        "DOCTOR_APPOINTMENT request).",
        documents.BenefitKind.HOME_VISITS: "A doctor at home (a DOCTOR_APPOINTMENT with "
        "`homeVisit`).",
        documents.BenefitKind.MEDICATIONS: "Medications (a MEDICATIONS request): counted in "
        "items given.",
        documents.BenefitKind.LAB_TESTS: "Laboratory tests (a LAB_TESTS request).",
        documents.BenefitKind.HOSPITAL: "Hospital treatment.",
        documents.BenefitKind.DENTAL: "Dental care.",
        documents.BenefitKind.EMERGENCY: "Emergency care.",
        documents.BenefitKind.REIMBURSEMENT: "Expenses paid back (a REIMBURSEMENT request).",
    },
)
BenefitPeriod = publish(
    documents.BenefitPeriod,
    description="What a benefit's limit is counted over.",
    values={
        documents.BenefitPeriod.POLICY_YEAR: "A year of the card from `validFrom`, then from "
        "each anniversary (the last one ends with `validTo`).",
        documents.BenefitPeriod.CALENDAR_YEAR: "1 January to 31 December.",
    },
)
CoverageVerdict = publish(
    coverage.Verdict,
    name="CoverageVerdict",
    description="Whether the programme would cover a request.",
    values={
        coverage.Verdict.COVERED: "In full.",
        coverage.Verdict.PARTLY: "In part: `coveredAmount` by the programme, `memberShare` by "
        "the member (the co-payment, and what goes beyond the limit).",
        coverage.Verdict.NOT_COVERED: "Not at all; `reason` says why.",
    },
)
NotCoveredReason = publish(
    coverage.NotCoveredReason,
    description="Why a request would not be covered.",
    values={
        coverage.NotCoveredReason.CARD_NOT_VALID: "The card is not in force today (not ACTIVE, "
        "or today outside its validity).",
        coverage.NotCoveredReason.NO_PROGRAMME_DEFINED: "The insurer has given no definition "
        "of the card's programme in force today: ask the contact centre.",
        coverage.NotCoveredReason.NOT_IN_PROGRAMME: "The programme does not include this kind.",
        coverage.NotCoveredReason.WAITING_PERIOD: "The benefit's waiting period has not ended "
        "(`benefit.waitingPeriodEnds`).",
        coverage.NotCoveredReason.LIMIT_USED_UP: "The limit of the period is used up "
        "(`benefit.remaining`).",
    },
)
