"""Per-request DataLoaders, so that a field asked for many times costs one database round."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from kabinet.documents import UserDocument
from kabinet.resolvers import policies


async def _load_linked(users: Sequence[UserDocument]) -> list[policies.Linked]:
    return [await policies.linked(user=user) for user in users]


@dataclass(slots=True)
class Loaders:
    # An account's cards feed `policies`, `activePolicy` and `policyLookup`: linked once.
    linked: DataLoader[UserDocument, policies.Linked] = field(
        default_factory=lambda: DataLoader(_load_linked, cache_key_fn=lambda user: user.id)
    )
