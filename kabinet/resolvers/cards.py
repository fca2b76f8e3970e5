"""A card to show (issue 17 item 5): the card PDF's verification links, checked and revoked.

A link is a random token (as the emailed links: 256 bits, only its SHA-256 stored) in
`card_links`, naming the card and when it expires. Revoking marks the card
(`PolicyDocument.card_links_valid_after`): every link issued at or before the mark is
dead, whoever issued it, and links issued later work.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from beanie import PydanticObjectId

from kabinet.auth.context import Caller
from kabinet.auth.tokens import new_token, token_hash
from kabinet.clock import now
from kabinet.db import find_one
from kabinet.documents import AuditAction, CardLinkDocument, PolicyDocument
from kabinet.resolvers import audit, policies
from kabinet.resolvers.errors import NotFound
from kabinet.resolvers.scopes import within

# How long a link is remembered after it expired, so its page says "expired", not "unknown".
REMEMBERED_AFTER_EXPIRY = timedelta(days=90)
# Longer than any token `new_token` makes: not looked up at all.
MAX_TOKEN_LENGTH = 64


@dataclass(frozen=True, slots=True)
class IssuedCard:
    """A card the caller may read, with a new verification link's token."""

    policy: PolicyDocument
    token: str
    expires_at: datetime


async def issue_card(
    *, caller: Caller, policy_id: PydanticObjectId, ttl: timedelta
) -> IssuedCard | None:
    """A new verification link for a card the caller may read (`policies.readable`: the
    member's linked cards, any card for staff, who print cards for members); ``None``,
    saying nothing more, for any other card. Audited."""
    scope = await policies.readable(caller.user)
    policy = await find_one(PolicyDocument, within(scope, {"_id": policy_id}))
    if policy is None or caller.user is None:
        return None
    token = new_token()
    moment = now()
    link = CardLinkDocument(
        token_hash=token_hash(token),
        policy_id=policy.id,  # type: ignore[arg-type]
        issued_by=caller.user.id,  # type: ignore[arg-type]
        issued_at=moment,
        expires_at=moment + ttl,
        forget_at=moment + ttl + REMEMBERED_AFTER_EXPIRY,
    )
    await link.insert()
    await audit.record(
        caller,
        AuditAction.CARD_ISSUED,
        target_type="policy",
        target_id=policy.id,
        after={"expiresAt": link.expires_at.isoformat()},
    )
    return IssuedCard(policy=policy, token=token, expires_at=link.expires_at)


class LinkState(StrEnum):
    """What a verification link says: the card (valid today or not), or why nothing."""

    VALID = "valid"
    NOT_IN_FORCE = "not_in_force"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Verification:
    state: LinkState
    policy: PolicyDocument | None = None  # the card, for a live link only


async def verify_card_link(token: str) -> Verification:
    """The card behind a link, if the link is live: known, not expired, not revoked."""
    if len(token) > MAX_TOKEN_LENGTH:
        return Verification(LinkState.UNKNOWN)
    link = await find_one(CardLinkDocument, {"token_hash": token_hash(token)})
    if link is None:
        return Verification(LinkState.UNKNOWN)
    moment = now()
    if link.expires_at <= moment:
        return Verification(LinkState.EXPIRED)
    policy = await find_one(PolicyDocument, {"_id": link.policy_id})
    if policy is None:
        return Verification(LinkState.UNKNOWN)
    revoked = policy.card_links_valid_after
    if revoked is not None and link.issued_at <= revoked:
        return Verification(LinkState.REVOKED)
    in_force = policy.in_force(moment.date())
    return Verification(LinkState.VALID if in_force else LinkState.NOT_IN_FORCE, policy)


@dataclass(frozen=True, slots=True)
class RevokedLinks:
    """The cards whose links issued until ``at`` no longer work."""

    policies: list[PolicyDocument]
    at: datetime


async def revoke_card_links(
    *, caller: Caller, policy_id: PydanticObjectId | None
) -> RevokedLinks | NotFound:
    """Kill every link issued so far of one card the caller may read, or (no
    ``policy_id``) of every card linked to the caller's account. One card is one atomic
    update (`$max`, so a later revocation is never moved back); several are one
    `update_many` whose each card's write is atomic and repeatable. Audited."""
    user = caller.user
    if user is None:  # pragma: no cover - the schema lets only signed-in callers here
        return NotFound()
    if policy_id is None:
        cards = await policies.link_policies(user=user)
    else:
        scope = await policies.readable(user)
        card = await find_one(PolicyDocument, within(scope, {"_id": policy_id}))
        if card is None:
            return NotFound()
        cards = [card]
    moment = now()
    if cards:
        await PolicyDocument.get_pymongo_collection().update_many(
            {"_id": {"$in": [card.id for card in cards]}},
            {"$max": {"card_links_valid_after": moment}},
        )
        await audit.record(
            caller,
            AuditAction.CARD_LINKS_REVOKED,
            target_type="policy",
            target_id=policy_id,
            after={"policyIds": [str(card.id) for card in cards]},
        )
    for card in cards:
        card.card_links_valid_after = moment
    return RevokedLinks(policies=cards, at=moment)
