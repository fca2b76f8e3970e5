"""Accounts: insured people, operators and administrators."""

from datetime import datetime
from enum import StrEnum

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from kabinet.clock import now
from kabinet.i18n import DEFAULT_LOCALE, Locale


class Role(StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"
    ADMIN = "admin"


class UserDocument(Document):
    """One account; the email is stored normalised (lower-case) and is unique."""

    email: str
    password_hash: str
    email_confirmed: bool = False
    role: Role = Role.CUSTOMER
    locale: Locale = DEFAULT_LOCALE
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)

    class Settings:
        name = "users"
        indexes = (IndexModel([("email", ASCENDING)], unique=True, name="email_unique"),)
