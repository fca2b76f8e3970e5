"""Signed download links: a file or a card PDF that opens in `<img src>` or `<a download>`,
with no header, for the person it was issued to, for a short while.

A link carries the viewer's id, its expiry and an HMAC-SHA256 over the kind of thing it
opens, that thing's id, the viewer and the expiry, with the deployment's key
(`LinkKeyDocument`). The download checks the signature and the expiry, then whether that
viewer may still read the thing, as a download with the viewer's bearer header would; a
bearer header of someone else is refused. Rotating the key (`kabinet rotate-link-key`)
revokes every link at once: a download reads the key as it is, and each process signs
with the new key within `RELOAD` (or after its next download by a link).
"""

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlencode

from beanie import PydanticObjectId
from bson import ObjectId
from bson.errors import InvalidId

from kabinet.auth.context import Caller
from kabinet.clock import now
from kabinet.documents import AuditAction, LinkKeyDocument, UserDocument
from kabinet.periodic import repeat
from kabinet.resolvers import audit

logger = logging.getLogger(__name__)

KEY_ID = "download-links"
# How soon every process signs with a rotated key.
RELOAD = timedelta(minutes=1)


# What a link opens, by its id (an ObjectId, or its hex as in a node id).
type Subject = ObjectId | str


class LinkKind(StrEnum):
    FILE = "file"
    CARD = "card"


class LinkSigner:
    """Signs and checks links with the deployment's key, read from the database."""

    def __init__(self, ttl: timedelta) -> None:
        self._ttl_seconds = int(ttl.total_seconds())
        self._key: bytes | None = None

    async def load(self) -> None:
        """Read the key; the first process of a deployment creates it (an upsert keeps one)."""
        collection = LinkKeyDocument.get_pymongo_collection()
        stored = await collection.find_one({"_id": KEY_ID})
        if stored is None:
            await collection.update_one(
                {"_id": KEY_ID},
                {"$setOnInsert": {"key": secrets.token_urlsafe(32), "rotated_at": now()}},
                upsert=True,
            )
            stored = await collection.find_one({"_id": KEY_ID})
        self._key = stored["key"].encode() if stored else None

    async def keep_loading(self) -> None:
        await repeat(self.load, RELOAD, what="reading the download link key", first_now=False)

    def query(self, kind: LinkKind, subject_id: Subject, viewer_id: ObjectId) -> str:
        """The query string that opens ``subject_id`` for ``viewer_id`` until it expires:
        alike for a half of the lifetime, so a page's `<img src>` stays the same."""
        half = max(self._ttl_seconds // 2, 1)
        expires = (int(now().timestamp()) // half + 2) * half
        signature = self._signature(kind, subject_id, viewer_id, expires)
        return urlencode({"viewer": str(viewer_id), "expires": expires, "signature": signature})

    async def viewer(
        self, kind: LinkKind, subject_id: Subject, params: Mapping[str, str]
    ) -> UserDocument | None:
        """The account a link's ``params`` open ``subject_id`` for; None when they were
        altered, signed for something else, or expired, or the account is gone."""
        try:
            viewer_id = PydanticObjectId(params["viewer"])
            expires = int(params["expires"])
            signature = params["signature"]
        except (KeyError, ValueError, TypeError, InvalidId):
            return None
        if expires <= now().timestamp():
            return None
        await self.load()  # as it is now: a rotation anywhere revokes the link at once
        if not self._matches(kind, subject_id, viewer_id, expires, signature):
            return None
        return await UserDocument.get(viewer_id)

    def _matches(
        self, kind: LinkKind, subject_id: Subject, viewer_id: ObjectId, expires: int, given: str
    ) -> bool:
        expected = self._signature(kind, subject_id, viewer_id, expires)
        return hmac.compare_digest(expected.encode(), given.encode())

    def _signature(
        self, kind: LinkKind, subject_id: Subject, viewer_id: ObjectId, expires: int
    ) -> str:
        if self._key is None:
            raise RuntimeError("the link key is read at start-up (LinkSigner.load)")
        message = f"{kind.value}\n{subject_id}\n{viewer_id}\n{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def rotate_key(caller: Caller) -> None:
    """A new key: every link signed before stops opening at once, and every process signs
    with the new one within `RELOAD`. Audited."""
    await LinkKeyDocument.get_pymongo_collection().update_one(
        {"_id": KEY_ID},
        {"$set": {"key": secrets.token_urlsafe(32), "rotated_at": now()}},
        upsert=True,
    )
    await audit.record(caller, AuditAction.LINK_KEY_ROTATED, target_type="link_key")
    logger.info("download link key rotated: links issued before no longer open")
