"""The key that signs download links (`kabinet.resolvers.links`), one per deployment."""

from datetime import datetime

from kabinet.documents.base import Document
from kabinet.documents.settings import WholeDocuments


class LinkKeyDocument(Document):
    """Kept in the database so that every process signs and checks links alike; replaced
    by `kabinet rotate-link-key`, which revokes every link issued before."""

    id: str  # type: ignore[assignment]
    key: str
    rotated_at: datetime

    class Settings(WholeDocuments):
        name = "link_keys"
