"""Insurance cards linked through the account's verified phones (guide section 3).

The contacts area calls these hooks; the insurance-cards issue fills them in.
"""

from kabinet.documents import UserDocument


async def link_policies(*, user: UserDocument) -> list[object]:
    """Link the cards whose phones the account has verified; the cards linked now."""
    return []


async def has_linked_policies(*, user: UserDocument) -> bool:
    return False
