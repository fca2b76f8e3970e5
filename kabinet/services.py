"""What the use cases need from the running application, passed explicitly."""

from dataclasses import dataclass, field
from typing import Self

from kabinet.auth.passwords import PasswordHashing
from kabinet.auth.rate_limit import RateLimits
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents.search_keys import KeyedCards
from kabinet.events import Broker
from kabinet.events.sockets import Sockets
from kabinet.notify.outbox import Outbox
from kabinet.resolvers.links import LinkSigner


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    outbox: Outbox
    events: Broker
    sockets: Sockets
    database: Database
    rate_limits: RateLimits
    passwords: PasswordHashing
    links: LinkSigner
    keyed_cards: KeyedCards = field(default_factory=KeyedCards)

    @classmethod
    def of(cls, settings: Settings, database: Database) -> Self:
        """Fresh services for one process (or one command) run with ``settings``; a
        malformed `KABINET_RATE_LIMITS` raises a ValueError here, at start-up."""
        return cls(
            settings=settings,
            outbox=Outbox(settings),
            events=Broker(settings.ws_subscriber_backlog),
            sockets=Sockets(settings),
            database=database,
            rate_limits=RateLimits(settings.rate_limits),
            passwords=PasswordHashing.of(settings),
            links=LinkSigner(settings.file_link_ttl),
        )
