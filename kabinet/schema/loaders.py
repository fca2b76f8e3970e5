"""Per-request DataLoaders, so that a field asked for many times costs one database round."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from beanie import PydanticObjectId
from strawberry.dataloader import DataLoader

from kabinet.documents import ContactDocument, PolicyDocument, UserDocument
from kabinet.resolvers import contacts, policies


async def _load_policies(ids: Sequence[PydanticObjectId]) -> list[PolicyDocument | None]:
    found = {p.id: p for p in await PolicyDocument.find({"_id": {"$in": list(ids)}}).to_list()}
    return [found.get(policy_id) for policy_id in ids]


async def _load_users(ids: Sequence[PydanticObjectId]) -> list[UserDocument | None]:
    found = {u.id: u for u in await UserDocument.find({"_id": {"$in": list(ids)}}).to_list()}
    return [found.get(user_id) for user_id in ids]


async def _load_contacts(user_ids: Sequence[PydanticObjectId]) -> list[list[ContactDocument]]:
    return [await contacts.list_contacts(user_id) for user_id in user_ids]


@dataclass(slots=True)
class Loaders:
    # A page of requests names each card and applicant once: one query for all of them.
    policy: DataLoader[PydanticObjectId, PolicyDocument | None] = field(
        default_factory=lambda: DataLoader(_load_policies)
    )
    user: DataLoader[PydanticObjectId, UserDocument | None] = field(
        default_factory=lambda: DataLoader(_load_users)
    )
    # An account's contacts feed `contacts` and, through its confirmed phones, `linked`.
    contacts: DataLoader[PydanticObjectId, list[ContactDocument]] = field(
        default_factory=lambda: DataLoader(_load_contacts)
    )
    # An account's cards feed `policies`, `activePolicy` and `policyLookup`: linked once.
    linked: DataLoader[UserDocument, policies.Linked] = field(init=False)

    def __post_init__(self) -> None:
        self.linked = DataLoader(self._load_linked, cache_key_fn=lambda user: user.id)

    async def _load_linked(self, users: Sequence[UserDocument]) -> list[policies.Linked]:
        return [
            await policies.linked(
                user=user,
                phones=policies.verified_phones_among(await self.contacts.load(user.id)),  # type: ignore[arg-type]
            )
            for user in users
        ]

    async def card_of_request(
        self, viewer: UserDocument | None, owner_id: PydanticObjectId, policy_id: PydanticObjectId
    ) -> PolicyDocument | None:
        """A request's card. When this operation has asked for the owner's own cards already
        (`me { policies requests { edges { node { policy ... } } } }`), it is nearly always
        one of them, and costs no read of its own."""
        pending = self.linked.cache_map.get(viewer) if viewer and viewer.id == owner_id else None
        if pending is not None:
            linked = await pending
            if card := next((p for p in linked.policies if p.id == policy_id), None):
                return card
        return await self.policy.load(policy_id)
