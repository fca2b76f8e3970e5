"""Insurance cards (guide section 3): linked through the account's verified phones.

Which cards an account has is derived, never copied: the policies whose phones
contain one of the account's verified phones. So linking is idempotent and safe
when run twice at once, an operator's change of a policy's phones shows on the
next read without any user action, and a card whose phone goes away disappears.
A child's card stops being linked on the child's 18th birthday (`guardian_sees`).
The only stored choice is the active card, reconciled here in one place.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from beanie import PydanticObjectId
from pymongo import UpdateOne

from kabinet.auth import rate_limit
from kabinet.auth.context import Caller
from kabinet.clock import now
from kabinet.db import find_all
from kabinet.documents import (
    AuditAction,
    ContactDocument,
    ContactKind,
    PolicyDocument,
    Relationship,
    UserDocument,
)
from kabinet.documents.policy import midnight
from kabinet.documents.search_keys import (
    SEARCH_KEYS_VERSION,
    KeyedCards,
    keyed,
    pair_key,
    words,
)
from kabinet.resolvers import audit
from kabinet.resolvers.errors import (
    ErrorCode,
    FieldProblem,
    InvalidInput,
    NotAllowed,
    NotFound,
    RateLimited,
)
from kabinet.resolvers.pages import counter
from kabinet.resolvers.scopes import Filter, find_by_ids, within
from kabinet.resolvers.validation import parse_phone
from kabinet.services import Services

_RELATIONSHIP_ORDER = list(Relationship)


class LookupStatus(StrEnum):
    NO_VERIFIED_PHONE = "no_verified_phone"
    NO_CARD_FOUND = "no_card_found"
    NO_CARD_IN_FORCE = "no_card_in_force"
    FOUND = "found"


@dataclass(frozen=True, slots=True)
class Linked:
    """The account's cards (own first) and the active one: always a card in force today,
    or none when no linked card is."""

    policies: list[PolicyDocument]
    active: PolicyDocument | None
    has_verified_phone: bool
    # The cards by the twelve bytes of their id, where each request of a page finds its
    # own (`card_of_request`): a lookup by ObjectId runs its `__hash__` and `__eq__` in
    # Python, and the page's ids are other objects than the cards'.
    by_binary_id: dict[bytes, PolicyDocument] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        by_binary_id = {policy.id.binary: policy for policy in self.policies if policy.id}
        object.__setattr__(self, "by_binary_id", by_binary_id)

    @property
    def lookup(self) -> LookupStatus:
        if self.active is not None:
            return LookupStatus.FOUND
        if self.policies:
            return LookupStatus.NO_CARD_IN_FORCE
        return (
            LookupStatus.NO_CARD_FOUND
            if self.has_verified_phone
            else LookupStatus.NO_VERIFIED_PHONE
        )


async def verified_phones(user_id: PydanticObjectId | None) -> list[str]:
    contacts = await ContactDocument.find(
        {"user_id": user_id, "kind": ContactKind.PHONE.value, "verified": True}
    ).to_list()
    return verified_phones_among(contacts)


def verified_phones_among(contacts: Iterable[ContactDocument]) -> list[str]:
    return [c.value for c in contacts if c.kind is ContactKind.PHONE and c.verified]


def guardian_sees(today: date) -> Filter:
    """The cards their phones' accounts still see ``today``: all but a child's whose
    guardian access has ended (`PolicyDocument.guardian_access_end`). The range names
    `$type`: the embedded engine's comparison with a date also matches null."""
    return {
        "$or": [
            {"guardian_access_ends": None},
            {"guardian_access_ends": {"$type": "date", "$gt": midnight(today)}},
        ]
    }


def linked_through(phones: Iterable[str]) -> Filter:
    """The cards ``phones`` link today; the same filter for the same phones in any order."""
    return {"phones": {"$in": sorted(set(phones))}, **guardian_sees(now().date())}


async def readable(user: UserDocument | None, phones: Sequence[str] | None = None) -> Filter | None:
    """The cards ``user`` may read: staff every one, a customer those their confirmed
    phones link (as `linked`), nobody signed out any. ``phones``: the customer's confirmed
    phones when the caller has them already."""
    if user is None:
        return None
    if user.is_staff:
        return {}
    if phones is None:
        phones = await verified_phones(user.id)
    return linked_through(phones) if phones else None


def request_cards_readable(user: UserDocument | None) -> Filter | None:
    """The cards ``user`` may read as the card of one of their requests: a request names
    its card after a phone stops linking it (its history is the member's), but not a
    grown child's to the parent (the card's details are the child's now)."""
    if user is None:
        return None
    return {} if user.is_staff else guardian_sees(now().date())


async def find_request_cards(
    user: UserDocument | None, policy_ids: Sequence[PydanticObjectId]
) -> list[PolicyDocument | None]:
    """The cards of ``user``'s requests among ``policy_ids`` (`request_cards_readable`)."""
    return await find_by_ids(PolicyDocument, request_cards_readable(user), policy_ids)


async def find_cards(
    user: UserDocument | None,
    policy_ids: Sequence[PydanticObjectId],
    phones: Sequence[str] | None = None,
) -> list[PolicyDocument | None]:
    """The cards ``user`` may read among ``policy_ids``, in their order: one query."""
    return await find_by_ids(PolicyDocument, await readable(user, phones), policy_ids)


async def link_policies(*, user: UserDocument) -> list[PolicyDocument]:
    """Link every card the account's verified phones point to; the cards linked now."""
    return (await linked(user=user)).policies


async def linked(*, user: UserDocument) -> Linked:
    """The account's own cards, as it reads them itself."""
    (one,) = await linked_each(user, [(user, await verified_phones(user.id))])
    return one


async def linked_each(
    viewer: UserDocument | None, accounts: Sequence[tuple[UserDocument, list[str]]]
) -> list[Linked]:
    """Each account's cards, given its verified phones, among those ``viewer`` may read
    (`readable`): one query for all the accounts. Only a viewer who reads an account's
    cards whole (its own, or staff) settles its active card: a partial view would drop it."""
    own = next((phones for user, phones in accounts if viewer and user.id == viewer.id), None)
    every_phone = {phone for _, phones in accounts for phone in phones}
    found: list[PolicyDocument] = []
    if every_phone:
        scope = await readable(viewer, own)
        found = await find_all(PolicyDocument, within(scope, linked_through(every_phone)))
    found.sort(key=lambda p: (_RELATIONSHIP_ORDER.index(p.relationship), p.number))
    each = []
    for user, phones in accounts:
        cards = [policy for policy in found if not set(policy.phones).isdisjoint(phones)]
        whole = viewer is not None and (viewer.is_staff or viewer.id == user.id)
        active = await _reconcile_active(user, cards) if whole else None
        each.append(Linked(policies=cards, active=active, has_verified_phone=bool(phones)))
    return each


async def _reconcile_active(
    user: UserDocument, policies: list[PolicyDocument]
) -> PolicyDocument | None:
    """Keep the chosen card while it is linked and in force; else the first card in force
    (own first), or none."""
    today = now().date()
    by_id = {policy.id: policy for policy in policies if policy.in_force(today)}
    wanted = user.active_policy_id if user.active_policy_id in by_id else None
    if wanted is None and by_id:
        wanted = next(iter(by_id))
    if wanted != user.active_policy_id:
        # Conditional, so a concurrent selectPolicy is not overwritten.
        await UserDocument.get_pymongo_collection().update_one(
            {"_id": user.id, "active_policy_id": user.active_policy_id},
            {"$set": {"active_policy_id": wanted}},
        )
        user.active_policy_id = wanted
    return by_id.get(wanted) if wanted else None


async def refresh_policies(*, services: Services, user: UserDocument) -> UserDocument | RateLimited:
    """Guide 3.2: look for the account's cards again, on request."""
    if exceeded := await services.rate_limits.hit(
        rate_limit.POLICY_REFRESH_PER_ACCOUNT, str(user.id)
    ):
        return RateLimited(exceeded.retry_after_seconds)
    await link_policies(user=user)
    return user


async def has_linked_policies(*, user: UserDocument) -> bool:
    return bool(await link_policies(user=user))


async def select_policy(
    *, user: UserDocument, policy_id: PydanticObjectId
) -> UserDocument | NotFound | NotAllowed:
    """Guide 3.1 "change policy": only a card linked to the account and in force today."""
    chosen = next((p for p in await link_policies(user=user) if p.id == policy_id), None)
    if chosen is None:
        return NotFound()
    if not chosen.in_force(now().date()):
        return NotAllowed(
            ErrorCode.POLICY_NOT_ACTIVE, "error.policy_not_active", {"number": chosen.number}
        )
    await user.set({"active_policy_id": policy_id, "updated_at": now()})
    return user


@dataclass(frozen=True, slots=True)
class PolicyPage:
    policies: list[PolicyDocument]
    has_next: bool
    count: Callable[[], Awaitable[int]]  # run only when the total is asked for


def search_query(search: str, *, pair_keys: bool) -> dict[str, object]:
    """Cards whose search keys (kabinet.documents.search_keys) hold a prefix of every word
    of ``search`` (the name), or ``search`` itself (a number prefix), or its phone. With
    ``pair_keys`` (every card has them) a pair key, when the words make one, comes first:
    both engines read the index entries of the first key of an `$all` and test the others
    on those cards only."""
    text = " ".join(search.split())
    if not text:
        return {}
    exact = [] if " " in text else [text.casefold()]
    phone = parse_phone(text, "search")
    if isinstance(phone, str):
        exact.append(phone)
    conditions: list[dict[str, object]] = [{"search_keys": {"$in": exact}}] if exact else []
    if name_words := words(text):
        pair = pair_key(name_words) if pair_keys else None
        conditions.append({"search_keys": {"$all": [pair, *name_words] if pair else name_words}})
    return {"$or": conditions} if conditions else {"_id": None}


async def find_policies(
    *,
    viewer: UserDocument | None,
    search: str,
    first: int,
    after: str | None,
    keyed_cards: KeyedCards,
) -> PolicyPage:
    """Staff search by policy number, phone or insured person's name, among the cards
    ``viewer`` may read; ordered by number."""
    query = within(await readable(viewer), search_query(search, pair_keys=keyed_cards.current))
    page_query = {"$and": [query, {"number": {"$gt": after}}]} if after else query
    found = await PolicyDocument.find(page_query).sort("number").limit(first + 1).to_list()
    return PolicyPage(
        policies=found[:first],
        has_next=len(found) > first,
        count=counter(PolicyDocument, query),
    )


async def fill_outdated_search_keys(batch_size: int = 500) -> int:
    """Key again the cards whose search keys are missing or follow an earlier scheme
    (`SEARCH_KEYS_VERSION`), ``batch_size`` at a time in `_id` order; how many were keyed.
    Idempotent: a card keyed meanwhile (by an import or an operator's change) is left as
    it is, so processes may run it at once."""
    collection = PolicyDocument.get_pymongo_collection()
    outdated = {"search_keys_version": {"$ne": SEARCH_KEYS_VERSION}}
    fields = {"number": 1, "insured_person.full_name": 1, "phones": 1}
    keyed_count, after = 0, None
    while (
        cards := await collection.find(
            {**outdated, "_id": {"$gt": after}} if after else outdated, fields
        )
        .sort("_id")
        .to_list(batch_size)
    ):
        await collection.bulk_write(
            [
                UpdateOne(
                    {"_id": card["_id"], **outdated},
                    {
                        "$set": keyed(
                            card["number"],
                            card["insured_person"]["full_name"],
                            card.get("phones", []),
                        )
                    },
                )
                for card in cards
            ],
            ordered=False,
        )
        keyed_count += len(cards)
        after = cards[-1]["_id"]
    return keyed_count


async def update_policy_phones(
    *, caller: Caller, policy_id: PydanticObjectId, phones: list[str]
) -> PolicyDocument | InvalidInput | NotFound:
    """Guide 3.2: an operator records the phone a person gave; the card links at once."""
    normalized: list[str] = []
    problems: list[FieldProblem] = []
    for index, typed in enumerate(phones):
        phone = parse_phone(typed, f"phones[{index}]")
        if isinstance(phone, FieldProblem):
            problems.append(phone)
        elif phone not in normalized:
            normalized.append(phone)
    if problems:
        return InvalidInput(problems)
    policy = await PolicyDocument.find_one(within(await readable(caller.user), {"_id": policy_id}))
    if policy is None:
        return NotFound()
    before = list(policy.phones)
    await policy.set(
        {
            "phones": normalized,
            **policy.search_fields(normalized),
            "updated_at": now(),
        }
    )
    await audit.record(
        caller,
        AuditAction.POLICY_PHONES_UPDATED,
        target_type="policy",
        target_id=policy.id,
        before={"phones": before},
        after={"phones": normalized},
    )
    return policy
