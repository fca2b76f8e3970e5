"""Labels of the enums a member sees, in the caller's language (`kabinet.labels`)."""

from enum import Enum
from typing import Any

import strawberry

from kabinet.labels import label
from kabinet.schema.context import Info
from kabinet.schema.enums import (
    BenefitKind,
    PolicyStatus,
    Relationship,
    RequestKind,
    RequestStatus,
)


def label_of(attribute: str, description: str) -> Any:
    """A field answering the object's enum ``attribute`` as the member reads it."""

    def resolve(root: Any, info: Info) -> str:
        return label(getattr(root, attribute), info.context.caller.locale)

    return strawberry.field(resolver=resolve, description=description)


@strawberry.type(description="An enum value with its label in the caller's language.")
class Labelled[E: Enum]:
    value: E = strawberry.field(description="The value.")
    label: str = strawberry.field(
        description="How a member reads it: the words of the SMS and emails, capitalised."
    )


def _each[E: Enum](enum: type[E], info: Info) -> list[Labelled[E]]:
    locale = info.context.caller.locale
    return [Labelled(value=member, label=label(member, locale)) for member in enum]


@strawberry.type(
    description="Every value of the enums a member sees, with its label in the caller's "
    "language (`Accept-Language` or the account's locale): e.g. a filter's options."
)
class EnumLabels:
    @strawberry.field(description="The statuses of a request, in their order.")
    def request_status(self, info: Info) -> list[Labelled[RequestStatus]]:
        return _each(RequestStatus, info)

    @strawberry.field(description="The kinds of a request.")
    def request_kind(self, info: Info) -> list[Labelled[RequestKind]]:
        return _each(RequestKind, info)

    @strawberry.field(description="The statuses of an insurance card.")
    def policy_status(self, info: Info) -> list[Labelled[PolicyStatus]]:
        return _each(PolicyStatus, info)

    @strawberry.field(description="Of the insured person to the account holder.")
    def relationship(self, info: Info) -> list[Labelled[Relationship]]:
        return _each(Relationship, info)

    @strawberry.field(description="The kinds of cover a programme gives (`Policy.coverage`).")
    def benefit_kind(self, info: Info) -> list[Labelled[BenefitKind]]:
        return _each(BenefitKind, info)


@strawberry.type
class LabelsQuery:
    @strawberry.field(
        description="The labels of the enums a member sees, for anyone: the same words as "
        "the SMS and emails."
    )
    def enum_labels(self) -> EnumLabels:
        return EnumLabels()
