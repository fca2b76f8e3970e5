"""Fixed-window counters shared by every API process."""

from datetime import datetime

from pymongo import ASCENDING, IndexModel

from kabinet.documents.base import Document
from kabinet.documents.settings import WholeDocuments


class RateLimitBucketDocument(Document):
    """One window of one limit for one subject; ``id`` is ``scope:subject:window``."""

    id: str  # type: ignore[assignment]
    hits: int = 0
    # Set by the first to tell someone that the window went over its limit (once per window).
    noticed: bool = False
    expires_at: datetime

    class Settings(WholeDocuments):
        name = "rate_limits"
        indexes = (
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry_ttl"),
        )
