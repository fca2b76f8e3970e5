"""Beanie documents and their indexes. This package imports nothing else of kabinet's layers."""

from kabinet.documents.contact import ContactDocument, ContactKind
from kabinet.documents.email_token import EmailTokenDocument, TokenPurpose
from kabinet.documents.outbox import Channel, OutboxMessageDocument, OutboxStatus
from kabinet.documents.rate_limit import RateLimitBucketDocument
from kabinet.documents.session import SessionDocument
from kabinet.documents.user import Address, AddressKind, Gender, Profile, Role, UserDocument

ALL_DOCUMENTS: list[type] = [
    UserDocument,
    SessionDocument,
    ContactDocument,
    EmailTokenDocument,
    OutboxMessageDocument,
    RateLimitBucketDocument,
]

__all__ = [
    "ALL_DOCUMENTS",
    "Address",
    "AddressKind",
    "Channel",
    "ContactDocument",
    "ContactKind",
    "EmailTokenDocument",
    "Gender",
    "OutboxMessageDocument",
    "OutboxStatus",
    "Profile",
    "RateLimitBucketDocument",
    "Role",
    "SessionDocument",
    "TokenPurpose",
    "UserDocument",
]
