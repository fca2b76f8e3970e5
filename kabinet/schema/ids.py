"""Opaque global ids (Relay): `base64("Type:objectid")`, decoded only for the expected type."""

import binascii
from collections.abc import Awaitable, Callable

from beanie import PydanticObjectId
from bson.errors import InvalidId
from strawberry import relay

from kabinet.resolvers.errors import NotFound


def object_id(value: str) -> PydanticObjectId | None:
    """The ObjectId in a node id; ``None`` when it is not one."""
    try:
        return PydanticObjectId(value)
    except (InvalidId, TypeError):
        return None


def decode_id(value: str, type_name: str) -> PydanticObjectId | None:
    """The database id inside a global id of ``type_name``; ``None`` for anything else."""
    try:
        global_id = relay.GlobalID.from_id(value)
    except (ValueError, binascii.Error):
        return None
    return object_id(global_id.node_id) if global_id.type_name == type_name else None


def filter_id(value: str | None, type_name: str) -> PydanticObjectId | None:
    """The id a list is filtered by: ``None`` for no filter; an id that names no object of
    ``type_name`` gives an id no document has, so it matches nothing rather than everything."""
    if value is None:
        return None
    return decode_id(value, type_name) or PydanticObjectId(b"\0" * 12)


async def by_id[T](
    value: str, type_name: str, use_case: Callable[[PydanticObjectId], Awaitable[T]]
) -> T | NotFound:
    """``use_case`` run with the database id in ``value``; an id of no such object is NotFound."""
    object_id = decode_id(value, type_name)
    return await use_case(object_id) if object_id else NotFound()
