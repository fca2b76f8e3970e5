"""The links in a card PDF's QR code (`/verify-card/{token}`), stored as hashes."""

from datetime import datetime

from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from kabinet.clock import now
from kabinet.documents.base import Document
from kabinet.documents.settings import WholeDocuments


class CardLinkDocument(Document):
    """One issued link: which card it shows, who issued it (the card PDF's downloader),
    until when. Revoking is a mark on the card (`PolicyDocument.card_links_valid_after`),
    so the links themselves are never written after their insert."""

    token_hash: str
    policy_id: PydanticObjectId
    issued_by: PydanticObjectId
    issued_at: datetime = Field(default_factory=now)
    expires_at: datetime
    # Kept past its expiry for a while, so the page can say "expired" rather than "unknown".
    forget_at: datetime

    class Settings(WholeDocuments):
        name = "card_links"
        indexes = (
            IndexModel([("token_hash", ASCENDING)], unique=True, name="token_hash_unique"),
            IndexModel([("issued_by", ASCENDING)], name="issued_by"),
            IndexModel([("forget_at", ASCENDING)], expireAfterSeconds=0, name="forget_ttl"),
        )
