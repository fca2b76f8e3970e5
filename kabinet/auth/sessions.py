"""Sessions: opaque bearer tokens, stored hashed, ended one by one or all at once."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeIs

from beanie import PydanticObjectId
from starlette.requests import HTTPConnection

from kabinet.auth.tokens import new_token, token_hash
from kabinet.clock import now
from kabinet.db import find_one
from kabinet.documents import SessionDocument, UserDocument

_BEARER = re.compile(r"^Bearer\s+(\S+)$", re.IGNORECASE)


def bearer_token(authorization: object) -> str | None:
    """The token of an `Authorization: Bearer <token>` value, if it is one."""
    found = _BEARER.match(authorization) if isinstance(authorization, str) else None
    return found.group(1) if found else None


async def request_session(
    connection: HTTPConnection, *, ttl: timedelta
) -> tuple[SessionDocument, UserDocument] | None:
    """The live session of a request's `Authorization: Bearer` header, and its account."""
    return await resolve_session(bearer_token(connection.headers.get("authorization")), ttl=ttl)


# Writing last_seen_at on every request would make every read a write.
TOUCH_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    session: SessionDocument


async def start_session(
    user: UserDocument, *, ttl: timedelta, user_agent: str | None, ip: str | None
) -> IssuedSession:
    token = new_token()
    moment = now()
    session = SessionDocument(
        user_id=user.id,
        token_hash=token_hash(token),
        created_at=moment,
        last_seen_at=moment,
        expires_at=moment + ttl,
        user_agent=(user_agent or "")[:300] or None,
        ip=ip,
    )
    await session.insert()
    return IssuedSession(token=token, session=session)


async def resolve_session(
    token: str | None, *, ttl: timedelta
) -> tuple[SessionDocument, UserDocument] | None:
    """The live session of a bearer token and its account; ``None`` for anything else."""
    if not token:
        return None
    moment = now()
    # By the unique token hash alone, so every engine searches that index; expiry is checked
    # here (with a range added, the embedded engine scans the collection).
    session = await find_one(SessionDocument, {"token_hash": token_hash(token)})
    if session is None or session.expires_at <= moment:
        return None
    user = await find_one(UserDocument, {"_id": session.user_id})
    if not live_account(user):
        return None
    if moment - session.last_seen_at >= TOUCH_INTERVAL:
        await _touch(session, moment, ttl)
    return session, user


async def reload_session(
    session: SessionDocument,
) -> tuple[SessionDocument, UserDocument] | None:
    """The session and its account again, if the session has not ended meanwhile."""
    current = await SessionDocument.find_one({"_id": session.id, "expires_at": {"$gt": now()}})
    if current is None:
        return None
    user = await UserDocument.get(current.user_id)
    return (current, user) if live_account(user) else None


def live_account(user: UserDocument | None) -> TypeIs[UserDocument]:
    """An account that exists and is not being deleted (its sessions die with the decision)."""
    return user is not None and user.deleting_since is None


async def _touch(session: SessionDocument, moment: datetime, ttl: timedelta) -> None:
    await SessionDocument.get_pymongo_collection().update_one(
        {"_id": session.id}, {"$set": {"last_seen_at": moment, "expires_at": moment + ttl}}
    )
    session.last_seen_at = moment
    session.expires_at = moment + ttl


async def end_session(session: SessionDocument) -> None:
    await SessionDocument.find_one({"_id": session.id}).delete()


async def end_sessions(user_id: PydanticObjectId, *, keep: SessionDocument | None = None) -> None:
    """End every session of the account, except ``keep`` when given."""
    query: dict[str, object] = {"user_id": user_id}
    if keep is not None:
        query["_id"] = {"$ne": keep.id}
    await SessionDocument.find(query).delete()


async def list_sessions(user_id: PydanticObjectId) -> list[SessionDocument]:
    return (
        await SessionDocument.find({"user_id": user_id, "expires_at": {"$gt": now()}})
        .sort("-last_seen_at")
        .to_list()
    )
