"""Addresses in the API: `setAddress` and `removeAddress` (guide 2.3)."""

from collections.abc import Iterable
from typing import Annotated, Self

import strawberry
from strawberry import relay

from kabinet.documents import Address as AddressValue
from kabinet.documents import UserDocument
from kabinet.resolvers import addresses
from kabinet.schema.context import Info
from kabinet.schema.enums import AddressKind
from kabinet.schema.errors import InputError, NotFound, to_graphql
from kabinet.schema.ids import by_id
from kabinet.schema.permissions import SignedIn, viewer
from kabinet.schema.user import User


@strawberry.type(description="An address where the person can receive services.")
class Address(relay.Node):
    id: relay.NodeID[str]
    kind: AddressKind = strawberry.field(description="Home, or the additional one (e.g. work).")
    city: str = strawberry.field(description="City, town or village.")
    street: str = strawberry.field(description="Street.")
    building: str = strawberry.field(description="Building number, e.g. 1В.")
    apartment: str | None = strawberry.field(description="Apartment or office.")
    postal_code: str | None = strawberry.field(description="Five-digit postal code.")
    region: str | None = strawberry.field(description="Region (область) or district.")
    note: str | None = strawberry.field(description="Entrance, floor, intercom and the like.")

    @classmethod
    def from_document(cls, address: AddressValue) -> Self:
        return cls(
            id=str(address.id),
            kind=address.kind,
            city=address.city,
            street=address.street,
            building=address.building,
            apartment=address.apartment,
            postal_code=address.postal_code,
            region=address.region,
            note=address.note,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Only the caller's own addresses."""
        viewer = info.context.caller.user
        own = {str(a.id): a for a in viewer.addresses.values()} if viewer else {}
        return [cls.from_document(own[node_id]) if node_id in own else None for node_id in node_ids]


@strawberry.input(description="An address; setting a kind replaces the address of that kind.")
class AddressInput:
    kind: AddressKind = strawberry.field(description="HOME or ADDITIONAL.")
    city: str = strawberry.field(description="City, town or village.")
    street: str = strawberry.field(description="Street.")
    building: str = strawberry.field(description="Building number.")
    apartment: str | None = strawberry.field(default=None, description="Apartment or office.")
    postal_code: str | None = strawberry.field(default=None, description="Five digits.")
    region: str | None = strawberry.field(default=None, description="Region or district.")
    note: str | None = strawberry.field(default=None, description="Entrance, floor, intercom.")


@strawberry.input(description="Remove an address.")
class RemoveAddressInput:
    address_id: strawberry.ID = strawberry.field(description="Id of the address.")


SetAddressResult = Annotated[
    Address | InputError,
    strawberry.union("SetAddressResult", description="The address as saved, or what is wrong."),
]
RemoveAddressResult = Annotated[
    User | NotFound,
    strawberry.union("RemoveAddressResult", description="The account without it, or NotFound."),
]


@strawberry.type
class AddressesMutation:
    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Set the HOME or ADDITIONAL address; one of each, setting replaces.",
    )
    async def set_address(self, info: Info, input: AddressInput) -> SetAddressResult:
        user = viewer(info)
        outcome = await addresses.set_address(
            user=user,
            fields=AddressValue(
                kind=input.kind,
                city=input.city,
                street=input.street,
                building=input.building,
                apartment=input.apartment,
                postal_code=input.postal_code,
                region=input.region,
                note=input.note,
            ),
        )
        if isinstance(outcome, AddressValue):
            return Address.from_document(outcome)
        return to_graphql(outcome, info.context.caller.locale)

    @strawberry.mutation(permission_classes=[SignedIn], description="Remove an address.")
    async def remove_address(self, info: Info, input: RemoveAddressInput) -> RemoveAddressResult:
        user = viewer(info)
        outcome = await by_id(
            input.address_id,
            "Address",
            lambda address_id: addresses.remove_address(user=user, address_id=address_id),
        )
        if isinstance(outcome, UserDocument):
            return User.from_document(outcome)
        return to_graphql(outcome, info.context.caller.locale)
