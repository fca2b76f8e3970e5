"""The open WebSockets of this process: limits per account and per client address, and
closing the sockets whose session ended.

Counts are per API process (each process holds its own sockets). A session that ends
through this process (logout, logoutEverywhere, changePassword, resetPassword,
deleteAccount) closes its sockets at once; one that ends through another process is
found by `check_sessions`: two queries for all of this process's sockets every
`KABINET_WS_SESSION_CHECK_SECONDS`. Idle subscriptions cost nothing in between.
"""

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from beanie import PydanticObjectId

from kabinet.clock import now
from kabinet.config import Settings
from kabinet.documents import SessionDocument, UserDocument
from kabinet.i18n import N_, Locale, translate
from kabinet.periodic import repeat

logger = logging.getLogger(__name__)

# Close codes (graphql-transport-ws leaves 4400-4499 to the server).
SESSION_ENDED = 4403
# Its events were sent faster than the client read them: reconnect and subscribe with `since`.
SUBSCRIBER_TOO_SLOW = 4413
TOO_MANY_SOCKETS = 4429


class TooMany(Exception):
    """A socket or a subscription over one of the limits."""

    def __init__(self, key: str, limit: int) -> None:
        super().__init__(key)
        self.key = key
        self.limit = limit

    def message(self, locale: Locale) -> str:
        return translate(self.key, locale, limit=self.limit)


@dataclass(eq=False, slots=True)
class Socket:
    """One signed-in WebSocket; ``close`` stops its operations and closes it."""

    user_id: PydanticObjectId
    session_id: PydanticObjectId
    ip: str
    locale: Locale
    close: Callable[[int, str], Awaitable[None]]


class Sockets:
    """This process's signed-in sockets and running subscriptions, counted per account and
    per client address."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._open: set[Socket] = set()
        self._per_account: Counter[PydanticObjectId] = Counter()
        self._per_ip: Counter[str] = Counter()
        self._subscriptions_per_account: Counter[PydanticObjectId] = Counter()
        self._subscriptions_per_ip: Counter[str] = Counter()
        self._closing: set[asyncio.Task[None]] = set()

    def admit(self, socket: Socket) -> None:
        """Count ``socket`` in, or raise `TooMany` when its account or address is at a limit."""
        settings = self._settings
        _within(
            N_("ws.too_many_sockets"),
            (self._per_account[socket.user_id], settings.ws_max_sockets_per_account),
            (self._per_ip[socket.ip], settings.ws_max_sockets_per_ip),
        )
        self._open.add(socket)
        _count(self._per_account, socket.user_id, 1)
        _count(self._per_ip, socket.ip, 1)

    def forget(self, socket: Socket) -> None:
        if socket in self._open:
            self._open.discard(socket)
            _count(self._per_account, socket.user_id, -1)
            _count(self._per_ip, socket.ip, -1)

    def subscription(self, socket: Socket) -> contextlib.ExitStack:
        """Counts one subscription of ``socket`` until the returned context exits; raises
        `TooMany` at once when its account or address is at a limit."""
        settings = self._settings
        _within(
            N_("ws.too_many_subscriptions"),
            (
                self._subscriptions_per_account[socket.user_id],
                settings.ws_max_subscriptions_per_account,
            ),
            (self._subscriptions_per_ip[socket.ip], settings.ws_max_subscriptions_per_ip),
        )
        self._count_subscription(socket, 1)
        counted = contextlib.ExitStack()
        counted.callback(self._count_subscription, socket, -1)
        return counted

    def _count_subscription(self, socket: Socket, change: int) -> None:
        _count(self._subscriptions_per_account, socket.user_id, change)
        _count(self._subscriptions_per_ip, socket.ip, change)

    async def session_ended(
        self,
        *,
        session_id: PydanticObjectId | None = None,
        user_id: PydanticObjectId | None = None,
        keep: PydanticObjectId | None = None,
    ) -> None:
        """Close (4403) the sockets of one session, or of every session of an account but
        ``keep``: the session ended through this process."""
        await self._close(
            socket
            for socket in self._open
            if socket.session_id == session_id
            or (user_id is not None and socket.user_id == user_id and socket.session_id != keep)
        )

    async def check_sessions(self) -> None:
        """Close the sockets whose session ended elsewhere: one query for the sessions of all
        open sockets, one for their accounts being deleted."""
        # Only the sockets asked about: one admitted during the queries is not in them.
        checked = list(self._open)
        if not checked:
            return
        open_sessions = list({socket.session_id for socket in checked})
        live = await (
            SessionDocument.get_pymongo_collection()
            .find({"_id": {"$in": open_sessions}, "expires_at": {"$gt": now()}}, {"user_id": 1})
            .to_list()
        )
        closing = await (
            UserDocument.get_pymongo_collection()
            .find(
                {
                    "_id": {"$in": list({s["user_id"] for s in live})},
                    "deleting_since": {"$ne": None},
                },
                {"_id": 1},
            )
            .to_list()
        )
        closing_accounts = {user["_id"] for user in closing}
        live_sessions = {s["_id"] for s in live if s["user_id"] not in closing_accounts}
        await self._close(socket for socket in checked if socket.session_id not in live_sessions)

    async def keep_checking(self) -> None:
        await repeat(
            self.check_sessions,
            timedelta(seconds=self._settings.ws_session_check_seconds),
            what="checking the sessions of open WebSockets",
            first_now=False,
        )

    def fell_behind(self, socket: Socket) -> None:
        """Close (4413) a socket whose events backed up, from a task of its own: the
        subscription's task may be stuck writing to it. Its operations stop at once; the
        close frame follows what the client has not read yet."""
        closing = asyncio.create_task(self._close([socket], SUBSCRIBER_TOO_SLOW, N_("ws.too_slow")))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _close(
        self,
        sockets: Iterable[Socket],
        code: int = SESSION_ENDED,
        key: str = N_("ws.session_ended"),
    ) -> None:
        ending = [socket for socket in sockets if socket in self._open]
        for socket in ending:
            self.forget(socket)
        for socket in ending:
            with contextlib.suppress(Exception):  # the client may be gone already
                await socket.close(code, translate(key, socket.locale))


def _within(key: str, *counts: tuple[int, int]) -> None:
    """Raise `TooMany` (naming the limit reached) when a count is already at its limit."""
    for count, limit in counts:
        if count >= limit:
            raise TooMany(key, limit)


def _count[K](counter: Counter[K], key: K, change: int) -> None:
    """Add ``change``; a count back at zero leaves the counter, which so never grows with
    every address ever seen."""
    counter[key] += change
    if counter[key] <= 0:
        del counter[key]
