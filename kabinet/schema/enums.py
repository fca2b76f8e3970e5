"""Enums shared by several areas of the schema."""

from enum import Enum

import strawberry

from kabinet.documents import Role as RoleValue
from kabinet.i18n import Locale as LocaleValue


@strawberry.enum(description="What an account may do.")
class Role(Enum):
    CUSTOMER = RoleValue.CUSTOMER.value
    OPERATOR = RoleValue.OPERATOR.value
    ADMIN = RoleValue.ADMIN.value


@strawberry.enum(description="Language of messages, emails and SMS.")
class Locale(Enum):
    UK = LocaleValue.UK.value
    EN = LocaleValue.EN.value
