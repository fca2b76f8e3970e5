"""Beanie documents and their indexes. This package imports nothing else of kabinet's layers."""

from kabinet.documents.audit import AuditAction, AuditEventDocument
from kabinet.documents.card_link import CardLinkDocument
from kabinet.documents.contact import ContactDocument, ContactKind
from kabinet.documents.email_token import EmailTokenDocument, TokenPurpose
from kabinet.documents.link_key import LinkKeyDocument
from kabinet.documents.outbox import Channel, OutboxMessageDocument, OutboxStatus
from kabinet.documents.policy import (
    InsuredPerson,
    PolicyDocument,
    PolicyStatus,
    Relationship,
)
from kabinet.documents.programme import (
    Benefit,
    BenefitKind,
    BenefitPeriod,
    ProgrammeDocument,
    ProgrammeVersion,
)
from kabinet.documents.provider import ProviderDocument, ProviderKind
from kabinet.documents.rate_limit import RateLimitBucketDocument
from kabinet.documents.request import (
    Attachment,
    CallResult,
    CounterDocument,
    Handover,
    ItemDecision,
    PayoutStatus,
    RefusalReason,
    RequestDocument,
    RequestKind,
    RequestStatus,
)
from kabinet.documents.session import SessionDocument
from kabinet.documents.user import (
    STAFF_ROLES,
    Address,
    AddressKind,
    Gender,
    NotificationSettings,
    Profile,
    Role,
    UserDocument,
)

ALL_DOCUMENTS: list[type] = [
    UserDocument,
    SessionDocument,
    ContactDocument,
    PolicyDocument,
    RequestDocument,
    CounterDocument,
    AuditEventDocument,
    EmailTokenDocument,
    OutboxMessageDocument,
    RateLimitBucketDocument,
    CardLinkDocument,
    LinkKeyDocument,
    ProgrammeDocument,
    ProviderDocument,
]

__all__ = [
    "ALL_DOCUMENTS",
    "STAFF_ROLES",
    "Address",
    "AddressKind",
    "Attachment",
    "AuditAction",
    "AuditEventDocument",
    "Benefit",
    "BenefitKind",
    "BenefitPeriod",
    "CallResult",
    "CardLinkDocument",
    "Channel",
    "ContactDocument",
    "ContactKind",
    "CounterDocument",
    "EmailTokenDocument",
    "Gender",
    "Handover",
    "InsuredPerson",
    "ItemDecision",
    "LinkKeyDocument",
    "NotificationSettings",
    "OutboxMessageDocument",
    "OutboxStatus",
    "PayoutStatus",
    "PolicyDocument",
    "PolicyStatus",
    "Profile",
    "ProgrammeDocument",
    "ProgrammeVersion",
    "ProviderDocument",
    "ProviderKind",
    "RateLimitBucketDocument",
    "RefusalReason",
    "Relationship",
    "RequestDocument",
    "RequestKind",
    "RequestStatus",
    "Role",
    "SessionDocument",
    "TokenPurpose",
    "UserDocument",
]
