"""Per-request DataLoaders, so that a field asked for many times costs one database round."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from beanie import PydanticObjectId
from strawberry.dataloader import DataLoader

from kabinet.documents import ContactDocument, PolicyDocument, RequestDocument, UserDocument
from kabinet.resolvers import contacts, policies, requests


async def _load_policies(ids: Sequence[PydanticObjectId]) -> list[PolicyDocument | None]:
    found = {p.id: p for p in await PolicyDocument.find({"_id": {"$in": list(ids)}}).to_list()}
    return [found.get(policy_id) for policy_id in ids]


async def _load_users(ids: Sequence[PydanticObjectId]) -> list[UserDocument | None]:
    found = {u.id: u for u in await UserDocument.find({"_id": {"$in": list(ids)}}).to_list()}
    return [found.get(user_id) for user_id in ids]


async def _load_contacts(user_ids: Sequence[PydanticObjectId]) -> list[list[ContactDocument]]:
    each: dict[PydanticObjectId, list[ContactDocument]] = {user_id: [] for user_id in user_ids}
    for contact in await contacts.list_contacts_of(user_ids):
        each[contact.user_id].append(contact)
    return [each[user_id] for user_id in user_ids]


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
    # `node(id:)` lookups of requests, per viewer (an operation has one): one query for all.
    _readable_requests: dict[
        PydanticObjectId | None, DataLoader[PydanticObjectId, RequestDocument | None]
    ] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.linked = DataLoader(self._load_linked, cache_key_fn=lambda user: user.id)

    async def _load_linked(self, users: Sequence[UserDocument]) -> list[policies.Linked]:
        each_contacts = await self.contacts.load_many([user.id for user in users])  # type: ignore[misc]
        return await policies.linked_each(
            [
                (user, policies.verified_phones_among(own))
                for user, own in zip(users, each_contacts, strict=True)
            ]
        )

    def readable_requests(
        self, viewer: UserDocument
    ) -> DataLoader[PydanticObjectId, RequestDocument | None]:
        """The requests ``viewer`` may read, by id."""
        if (loader := self._readable_requests.get(viewer.id)) is None:
            loader = DataLoader(lambda ids: requests.find_requests(viewer, ids))
            self._readable_requests[viewer.id] = loader
        return loader

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
