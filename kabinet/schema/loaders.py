"""Per-request DataLoaders, so that a field asked for many times costs one database round."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from beanie import PydanticObjectId
from strawberry.dataloader import DataLoader

from kabinet.documents import PolicyDocument, UserDocument
from kabinet.resolvers import policies


async def _load_linked(users: Sequence[UserDocument]) -> list[policies.Linked]:
    return [await policies.linked(user=user) for user in users]


async def _load_policies(ids: Sequence[PydanticObjectId]) -> list[PolicyDocument | None]:
    found = {p.id: p for p in await PolicyDocument.find({"_id": {"$in": list(ids)}}).to_list()}
    return [found.get(policy_id) for policy_id in ids]


async def _load_users(ids: Sequence[PydanticObjectId]) -> list[UserDocument | None]:
    found = {u.id: u for u in await UserDocument.find({"_id": {"$in": list(ids)}}).to_list()}
    return [found.get(user_id) for user_id in ids]


@dataclass(slots=True)
class Loaders:
    # A page of requests names each card and applicant once: one query for all of them.
    policy: DataLoader[PydanticObjectId, PolicyDocument | None] = field(
        default_factory=lambda: DataLoader(_load_policies)
    )
    user: DataLoader[PydanticObjectId, UserDocument | None] = field(
        default_factory=lambda: DataLoader(_load_users)
    )
    # An account's cards feed `policies`, `activePolicy` and `policyLookup`: linked once.
    linked: DataLoader[UserDocument, policies.Linked] = field(
        default_factory=lambda: DataLoader(_load_linked, cache_key_fn=lambda user: user.id)
    )
