"""Addresses (guide 2.3): one home address and one additional, e.g. at work."""

import re

from beanie import PydanticObjectId
from beanie.operators import Unset

from kabinet.clock import now
from kabinet.documents import Address, UserDocument
from kabinet.resolvers.errors import FieldErrorCode, FieldProblem, InvalidInput, NotFound
from kabinet.resolvers.validation import Checked

_POSTAL_CODE = re.compile(r"^\d{5}$")


async def set_address(*, user: UserDocument, fields: Address) -> Address | InvalidInput:
    """Set the address of ``fields.kind`` (as typed), replacing the one there was."""
    checked = Checked()
    address = Address(
        kind=fields.kind,
        city=checked.text(fields.city, "city", max_length=80, required=True) or "",
        street=checked.text(fields.street, "street", max_length=120, required=True) or "",
        building=checked.text(fields.building, "building", max_length=20, required=True) or "",
        apartment=checked.text(fields.apartment, "apartment", max_length=20, required=False),
        postal_code=checked.text(fields.postal_code, "postalCode", max_length=10, required=False),
        region=checked.text(fields.region, "region", max_length=80, required=False),
        note=checked.text(fields.note, "note", max_length=300, required=False),
    )
    if address.postal_code is not None and not _POSTAL_CODE.match(address.postal_code):
        checked.problems.append(FieldProblem("postalCode", FieldErrorCode.POSTAL_CODE_INVALID))
    if checked.problems:
        return InvalidInput(checked.problems)
    await user.set({f"addresses.{fields.kind.value}": address, "updated_at": now()})
    return address


async def remove_address(
    *, user: UserDocument, address_id: PydanticObjectId
) -> UserDocument | NotFound:
    for kind, address in user.addresses.items():
        if address.id == address_id:
            await user.update(Unset({f"addresses.{kind.value}": ""}))
            return user
    return NotFound()
