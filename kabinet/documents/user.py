"""Accounts: insured people, operators and administrators."""

from datetime import date, datetime
from enum import StrEnum

from beanie import PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.base import Document
from kabinet.documents.settings import WholeDocuments
from kabinet.i18n import DEFAULT_LOCALE, Locale
from kabinet.roles import STAFF_ROLES, Role


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"


class Profile(BaseModel):
    """Personal data (guide 2.1)."""

    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    gender: Gender | None = None
    birth_date: date | None = None


class AddressKind(StrEnum):
    HOME = "home"
    ADDITIONAL = "additional"


class Address(BaseModel):
    """Where services can be received (guide 2.3)."""

    id: PydanticObjectId = Field(default_factory=PydanticObjectId)
    kind: AddressKind
    city: str
    street: str
    building: str
    apartment: str | None = None
    postal_code: str | None = None
    region: str | None = None
    note: str | None = None


# Statuses that need the person's attention; the defaults of `NotificationSettings.sms`.
ATTENTION_STATUSES = ("scheduled", "needs_info", "completed", "rejected")


class NotificationSettings(BaseModel):
    """Which request statuses are announced on which channel."""

    sms: list[str] = Field(default_factory=lambda: list(ATTENTION_STATUSES))
    email: list[str] = Field(default_factory=list)


class UserDocument(Document):
    """One account; the email is stored normalised (lower-case) and is unique."""

    email: str
    password_hash: str
    email_confirmed: bool = False
    role: Role = Role.CUSTOMER
    locale: Locale = DEFAULT_LOCALE
    profile: Profile = Field(default_factory=Profile)
    # At most one address of each kind, keyed by kind, so each is replaced atomically.
    addresses: dict[AddressKind, Address] = Field(default_factory=dict)
    # The card the cabinet works with (guide 3.1, "change policy"); see resolvers/policies.
    active_policy_id: PydanticObjectId | None = None
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    # Set first when the account is deleted: from then on it signs nothing in and is found by
    # no email flow, while its data is erased (resolvers/privacy.py); the document goes last.
    deleting_since: datetime | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    class Settings(WholeDocuments):
        name = "users"
        indexes = (
            IndexModel([("email", ASCENDING)], unique=True, name="email_unique"),
            IndexModel(
                [("deleting_since", ASCENDING)],
                partialFilterExpression={"deleting_since": {"$type": "date"}},
                name="deleting",
            ),
        )
