"""Who is calling: the signed-in account (if any), its session, language and address."""

from dataclasses import dataclass

from kabinet.documents import SessionDocument, UserDocument
from kabinet.i18n import Locale


@dataclass(slots=True)
class Caller:
    """The caller of one HTTP request or WebSocket connection."""

    user: UserDocument | None
    session: SessionDocument | None
    locale: Locale
    ip: str
    user_agent: str | None
    request_id: str
