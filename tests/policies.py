"""Helpers for tests about insurance cards: registry rows and staff accounts."""

from datetime import date, timedelta
from types import EllipsisType

from kabinet.auth.passwords import PasswordHashing
from kabinet.clock import now
from kabinet.documents import (
    ContactDocument,
    ContactKind,
    InsuredPerson,
    PolicyDocument,
    PolicyStatus,
    Relationship,
    Role,
    UserDocument,
)
from kabinet.resolvers.account import create_confirmed_user
from tests.accounts import login
from tests.support import PASSWORD, Api

PHONE = "+380671234567"


async def card(
    number: str,
    *phones: str,
    relationship: Relationship = Relationship.SELF,
    status: PolicyStatus = PolicyStatus.ACTIVE,
    name: str = "Коваленко Олена",
    birth_date: date | EllipsisType | None = ...,
) -> PolicyDocument:
    """A registry card; ``birth_date`` by default a typical one for the relationship (a
    child's is years from 18, so the card stays linked)."""
    if birth_date is ...:
        birth_date = date(2015, 9, 1) if relationship is Relationship.CHILD else date(1988, 4, 12)
    today = now().date()
    policy = PolicyDocument(
        number=number,
        insurer="Демо Страхування",
        program="Оптимальний",
        status=status,
        valid_from=today - timedelta(days=30),
        valid_to=today + timedelta(days=335),
        insured_person=InsuredPerson(full_name=name, birth_date=birth_date),
        phones=list(phones),
        relationship=relationship,
    )
    await policy.insert()
    return policy


async def confirmed_phone(email: str, phone: str = PHONE) -> None:
    """Give an account a verified phone without the SMS round trip (tested elsewhere)."""
    user = await UserDocument.find_one({"email": email})
    assert user is not None
    await ContactDocument.confirmed(user.id, ContactKind.PHONE, phone).insert()


async def confirmed_account(email: str, role: Role) -> UserDocument:
    """An account as `kabinet create-user` makes it, with password ``PASSWORD``."""
    async with PasswordHashing(threads=1) as passwords:
        created = await create_confirmed_user(
            passwords=passwords, email=email, password=PASSWORD, role=role
        )
    assert isinstance(created, UserDocument), created
    return created


async def staff_token(api: Api, email: str, role: str) -> str:
    await confirmed_account(email, Role(role))
    return (await login(api, email))["token"]
