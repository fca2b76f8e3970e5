"""Who is calling: the signed-in account (if any), its session, language and address."""

from dataclasses import dataclass
from typing import Self

from starlette.requests import HTTPConnection

from kabinet.documents import SessionDocument, UserDocument
from kabinet.i18n import Locale, negotiate_locale


@dataclass(slots=True)
class Caller:
    """The caller of one HTTP request or WebSocket connection."""

    user: UserDocument | None
    session: SessionDocument | None
    locale: Locale
    ip: str
    user_agent: str | None
    request_id: str

    @classmethod
    def of(
        cls,
        connection: HTTPConnection,
        resolved: tuple[SessionDocument | None, UserDocument] | None,
    ) -> Self:
        """The caller of ``connection`` with its ``resolved`` session (none for a signed
        link's viewer): the account's language, or the browser's for someone signed out."""
        session, user = resolved or (None, None)
        return cls(
            user=user,
            session=session,
            locale=user.locale
            if user
            else negotiate_locale(connection.headers.get("accept-language")),
            ip=connection.client.host if connection.client else "unknown",
            user_agent=connection.headers.get("user-agent"),
            request_id=connection.state.request_id,
        )
