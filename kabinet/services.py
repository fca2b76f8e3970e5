"""What the use cases need from the running application, passed explicitly."""

from dataclasses import dataclass

from kabinet.config import Settings
from kabinet.db import Database
from kabinet.events import Broker
from kabinet.notify.outbox import Outbox


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    outbox: Outbox
    events: Broker
    database: Database
