"""Rate limits kept in MongoDB, so every API process counts against the same buckets.

A limit is a fixed window: the first hit of a window creates the bucket with an
atomic upsert and every further hit increments it atomically, so parallel
requests and aliases in one document cannot slip past the limit. Most limits
refuse what is over them (`hit`); a soft one (`count`) only reports how far over
it an attempt is, for the caller to slow it down.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from kabinet import metrics
from kabinet.clock import now
from kabinet.documents import RateLimitBucketDocument


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``hits`` per ``window`` for one subject of ``scope``."""

    scope: str
    hits: int
    window: timedelta


@dataclass(frozen=True, slots=True)
class Exceeded:
    retry_after_seconds: int


@dataclass(frozen=True, slots=True)
class Counted:
    """One attempt counted in the bucket ``bucket_id``: the ``over``-th beyond the limit
    (0 while within it), in a window that ends at ``window_end``."""

    bucket_id: str
    over: int
    window_end: datetime


# Documented in docs/architecture.md (Rate limits); `KABINET_RATE_LIMITS` overrides them.
# Refused: sign-ins for one account from one address, and from one address at all.
LOGIN_PER_ACCOUNT_AND_IP = Limit("login:account-ip", 10, timedelta(minutes=15))
# Never refused, so nobody can lock an owner out: attempts beyond it are slowed down and
# the owner is warned once per window (resolvers/account.py).
LOGIN_PER_ACCOUNT = Limit("login:account", 10, timedelta(minutes=15))
LOGIN_PER_IP = Limit("login:ip", 50, timedelta(minutes=15))
REGISTER_PER_IP = Limit("register:ip", 20, timedelta(hours=1))
REGISTER_PER_EMAIL = Limit("register:email", 5, timedelta(hours=1))
CONFIRMATION_PER_EMAIL = Limit("confirmation:email", 5, timedelta(hours=1))
CONFIRMATION_PER_IP = Limit("confirmation:ip", 20, timedelta(hours=1))
TOKEN_USE_PER_IP = Limit("token:ip", 20, timedelta(minutes=15))
RESET_PER_EMAIL = Limit("reset:email", 5, timedelta(hours=1))
RESET_PER_IP = Limit("reset:ip", 20, timedelta(hours=1))
CONTACT_ADDS_PER_ACCOUNT = Limit("contact-add:account", 20, timedelta(hours=1))
CODES_PER_ACCOUNT = Limit("contact-codes:account", 10, timedelta(hours=1))
CODES_PER_VALUE = Limit("contact-codes:value", 10, timedelta(days=1))
CODE_CHECKS_PER_ACCOUNT = Limit("contact-verify:account", 30, timedelta(hours=1))
POLICY_REFRESH_PER_ACCOUNT = Limit("policy-refresh:account", 30, timedelta(hours=1))
REQUESTS_PER_ACCOUNT = Limit("requests:account", 30, timedelta(hours=1))
COMMENTS_PER_ACCOUNT = Limit("comments:account", 60, timedelta(hours=1))
PASSWORD_CHANGE_PER_ACCOUNT = Limit("password-change:account", 10, timedelta(minutes=15))
# The public card verification page (`/verify-card/{token}`): a reception checks a card
# now and then; more is someone guessing tokens.
CARD_VERIFY_PER_IP = Limit("card-verify:ip", 60, timedelta(minutes=15))


# Every limit above, by name: a new constant is configurable without being listed again.
DEFAULTS: dict[str, Limit] = {
    value.scope: value for value in dict(globals()).values() if isinstance(value, Limit)
}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([smhd])\s*$")


def parse_overrides(overrides: Mapping[str, str]) -> dict[str, Limit]:
    """``{"login:account": "10/15m"}`` as limits; a ValueError names an unknown scope or a
    malformed value, so a typo stops the server at start-up instead of passing silently."""
    parsed: dict[str, Limit] = {}
    for scope, text in overrides.items():
        if scope not in DEFAULTS:
            raise ValueError(f"unknown rate limit {scope!r}; known: {', '.join(DEFAULTS)}")
        match = _LIMIT.match(text)
        if match is None or int(match[1]) < 1 or int(match[2]) < 1:
            raise ValueError(f"rate limit {scope}={text!r} is not like 10/15m (s, m, h or d)")
        seconds = int(match[2]) * _UNITS[match[3]]
        parsed[scope] = Limit(scope, int(match[1]), timedelta(seconds=seconds))
    return parsed


class RateLimits:
    """The limits in force for one application: the defaults with ``overrides``
    (`KABINET_RATE_LIMITS`) applied. Callers name a default (``LOGIN_PER_IP``); what is
    counted is its configured version."""

    def __init__(self, overrides: Mapping[str, str]) -> None:
        self._in_force = DEFAULTS | parse_overrides(overrides)

    def __getitem__(self, limit: Limit) -> Limit:
        return self._in_force[limit.scope]

    async def count(self, limit: Limit, subject: str) -> Counted:
        """Count one attempt and say how far over the limit it is, refusing nothing."""
        limit = self[limit]
        moment = now()
        window_seconds = int(limit.window.total_seconds())
        window_index = int(moment.timestamp()) // window_seconds
        window_end = datetime.fromtimestamp((window_index + 1) * window_seconds, UTC)
        collection = RateLimitBucketDocument.get_pymongo_collection()
        bucket_id = f"{limit.scope}:{subject}:{window_index}"
        for _ in range(2):  # two first hits may race on the upsert; the loser retries
            try:
                bucket = await collection.find_one_and_update(
                    {"_id": bucket_id},
                    {"$inc": {"hits": 1}, "$setOnInsert": {"expires_at": window_end}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                break
            except DuplicateKeyError:
                continue
        else:  # pragma: no cover - the bucket exists after the first race
            raise RuntimeError(f"rate-limit bucket {bucket_id} could not be updated")
        return Counted(bucket_id, max(0, bucket["hits"] - limit.hits), window_end)

    async def hit(self, limit: Limit, subject: str) -> Exceeded | None:
        """Count one attempt; ``Exceeded`` when this attempt is over the limit."""
        counted = await self.count(limit, subject)
        if not counted.over:
            return None
        metrics.RATE_LIMITED.labels(limit.scope).inc()
        wait = (counted.window_end - now()).total_seconds()
        return Exceeded(retry_after_seconds=max(1, math.ceil(wait)))

    async def hit_all(self, *checks: tuple[Limit, str]) -> Exceeded | None:
        """Count one attempt against each limit; the longest wait among those exceeded."""
        exceeded = [
            result for limit, subject in checks if (result := await self.hit(limit, subject))
        ]
        if not exceeded:
            return None
        return max(exceeded, key=lambda result: result.retry_after_seconds)


async def first_notice(counted: Counted) -> bool:
    """``True`` for the first caller to ask about ``counted``'s window: something to tell
    someone about once per window however many attempts and processes see it over."""
    claimed = await RateLimitBucketDocument.get_pymongo_collection().update_one(
        {"_id": counted.bucket_id, "noticed": {"$ne": True}}, {"$set": {"noticed": True}}
    )
    return claimed.modified_count == 1
