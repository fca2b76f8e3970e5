"""Per-request DataLoaders, so that a field asked for many times costs one database round."""

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from beanie import PydanticObjectId
from bson import ObjectId
from strawberry.dataloader import DataLoader

from kabinet.documents import (
    AuditEventDocument,
    ContactDocument,
    PolicyDocument,
    ProgrammeDocument,
    ProviderDocument,
    RequestDocument,
    UserDocument,
)
from kabinet.resolvers import audit, contacts, coverage, policies, providers, requests

if TYPE_CHECKING:
    from kabinet.schema.policies import Policy

# A card's view is one per (card document read, shown as active, shown to staff); the
# document is kept with its view, so its identity is not reused while the view lives.
type CardViewKey = tuple[int, bool, bool]


async def _load_users(ids: Sequence[ObjectId]) -> list[UserDocument | None]:
    found = {u.id: u for u in await UserDocument.find({"_id": {"$in": list(ids)}}).to_list()}
    return [found.get(user_id) for user_id in ids]


async def _load_contacts(
    viewer: UserDocument | None, user_ids: Sequence[PydanticObjectId]
) -> list[list[ContactDocument]]:
    each: dict[PydanticObjectId, list[ContactDocument]] = {user_id: [] for user_id in user_ids}
    for contact in await contacts.list_contacts_of(viewer, user_ids):
        each[contact.user_id].append(contact)
    return [each[user_id] for user_id in user_ids]


@dataclass(slots=True)
class Loaders:
    # A page of requests names each applicant once: one query for all of them.
    user: DataLoader[ObjectId, UserDocument | None] = field(
        default_factory=lambda: DataLoader(_load_users)
    )
    # Cards' programmes and usage (`Policy.coverage`, `coverageCheck`): one query each for
    # every card of the operation. Not cached: a subscription is one operation, and each
    # of its events must show the usage its decision changed.
    programmes: DataLoader[str, ProgrammeDocument | None] = field(
        default_factory=lambda: DataLoader(coverage.programmes_named, cache=False)
    )
    card_usage: DataLoader[PydanticObjectId, list[coverage.UsageDay]] = field(
        default_factory=lambda: DataLoader(coverage.usage_of_cards, cache=False)
    )
    # The providers a page of requests (details and outcomes) and `node(id:)` name: the
    # directory is the network's, the same for every signed-in caller.
    provider: DataLoader[PydanticObjectId, ProviderDocument | None] = field(
        default_factory=lambda: DataLoader(providers.find_providers_by_id)
    )
    # The API's view of each card read (`kabinet.schema.policies.card_view`), with the
    # document it shows: a page of requests names the same few cards, each built once.
    card_views: dict[CardViewKey, tuple[PolicyDocument, "Policy"]] = field(default_factory=dict)
    # What a viewer (an operation has one) reads of an area, within the area's read scope:
    # `node(id:)` lookups, and each account's contacts and cards; one query for all.
    _by_viewer: dict[tuple[str, PydanticObjectId | None], DataLoader[Any, Any]] = field(
        default_factory=dict
    )
    # The owner's own cards once read (`card_of_request`), with the viewer they were read
    # for and the bytes of its id: a page of twenty requests finds its cards there
    # without a loader lookup each.
    _own_cards: tuple[UserDocument, bytes, policies.Linked] | None = None

    def _per_viewer[K, V](
        self,
        area: str,
        viewer: UserDocument | None,
        load: Callable[[list[K]], Awaitable[list[V]]],
        cache_key_fn: Callable[[K], Hashable] | None = None,
    ) -> DataLoader[K, V]:
        key = (area, viewer.id if viewer else None)
        if (loader := self._by_viewer.get(key)) is None:
            loader = self._by_viewer[key] = DataLoader(load, cache_key_fn=cache_key_fn)
        return loader

    def contacts_of(
        self, viewer: UserDocument | None
    ) -> DataLoader[PydanticObjectId, list[ContactDocument]]:
        """Each account's contacts ``viewer`` may read, by account id: they feed `contacts`
        and, through the confirmed phones, `linked_of`."""
        return self._per_viewer(
            "account-contacts", viewer, lambda user_ids: _load_contacts(viewer, user_ids)
        )

    def linked_of(self, viewer: UserDocument | None) -> DataLoader[UserDocument, policies.Linked]:
        """Each account's cards ``viewer`` may read, by account: they feed `policies`,
        `activePolicy` and `policyLookup`, linked once."""

        # The loader keeps the contacts' loader, not these loaders: no cycle through them.
        own_contacts = self.contacts_of(viewer)

        async def load(users: list[UserDocument]) -> list[policies.Linked]:
            each_contacts = await own_contacts.load_many([user.id for user in users])  # type: ignore[misc]
            return await policies.linked_each(
                viewer,
                [
                    (user, policies.verified_phones_among(own))
                    for user, own in zip(users, each_contacts, strict=True)
                ],
            )

        return self._per_viewer("linked-cards", viewer, load, cache_key_fn=lambda user: user.id)

    def readable_requests(
        self, viewer: UserDocument | None
    ) -> DataLoader[PydanticObjectId, RequestDocument | None]:
        """The requests ``viewer`` may read, by id."""
        return self._per_viewer("requests", viewer, lambda ids: requests.find_requests(viewer, ids))

    def readable_cards(
        self, viewer: UserDocument | None
    ) -> DataLoader[PydanticObjectId, PolicyDocument | None]:
        """The cards ``viewer`` may read, by id; a customer's confirmed phones come from
        the `contacts` loader."""

        own_contacts = self.contacts_of(viewer)

        async def load(ids: list[PydanticObjectId]) -> list[PolicyDocument | None]:
            phones = None
            if viewer is not None and not viewer.is_staff:
                own = await own_contacts.load(viewer.id)  # type: ignore[arg-type]
                phones = policies.verified_phones_among(own)
            return await policies.find_cards(viewer, ids, phones)

        return self._per_viewer("cards", viewer, load)

    def readable_contacts(
        self, viewer: UserDocument | None
    ) -> DataLoader[PydanticObjectId, ContactDocument | None]:
        """The contacts ``viewer`` may read, by id."""
        return self._per_viewer("contacts", viewer, lambda ids: contacts.find_contacts(viewer, ids))

    def readable_events(
        self, viewer: UserDocument | None
    ) -> DataLoader[PydanticObjectId, AuditEventDocument | None]:
        """The security events ``viewer`` may read, by id."""
        return self._per_viewer("events", viewer, lambda ids: audit.find_events(viewer, ids))

    async def cards_read_for(self, viewer: UserDocument | None, owner: UserDocument) -> None:
        """Wait until ``owner``'s cards are read for ``viewer``, if this operation is reading
        them; a failed read is reported by the field that asked for it, not here."""
        if (pending := self.linked_of(viewer).cache_map.get(owner)) is not None:
            await asyncio.wait([pending])

    def card_of_request(
        self, viewer: UserDocument | None, owner_id: ObjectId, policy_id: ObjectId
    ) -> PolicyDocument | Awaitable[PolicyDocument | None]:
        """A request's card. When this operation has read the owner's own cards already
        (`me { policies requests { edges { node { policy ... } } } }`), it is nearly always
        one of them: then it is returned at once, with no read and nothing to await, so a
        page of twenty requests does not become twenty awaited fields. Else it is read
        within `policies.request_cards_readable`: none for a grown child's card."""
        known = self._own_cards
        if known is None or known[0] is not viewer:
            if viewer is None or viewer.id != owner_id:
                return self._card_of_request(viewer, None, policy_id)
            pending = self.linked_of(viewer).cache_map.get(viewer)
            if pending is None or not pending.done() or pending.exception():
                return self._card_of_request(viewer, pending, policy_id)
            known = self._own_cards = (viewer, viewer.id.binary, pending.result())  # type: ignore[union-attr]
        # By the ids' bytes: comparing ObjectIds calls their Python `__eq__` each time.
        if owner_id.binary == known[1] and (card := known[2].by_binary_id.get(policy_id.binary)):
            return card
        return self._card_of_request(viewer, None, policy_id)

    async def _card_of_request(
        self,
        viewer: UserDocument | None,
        pending: Awaitable[policies.Linked] | None,
        policy_id: ObjectId,
    ) -> PolicyDocument | None:
        if pending is not None and (card := (await pending).by_binary_id.get(policy_id.binary)):
            return card
        # A page of requests names each card once: one query for all of them.
        return await self._per_viewer(
            "request-cards", viewer, lambda ids: policies.find_request_cards(viewer, ids)
        ).load(policy_id)
