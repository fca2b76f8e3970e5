"""The MongoDB connection: a real server by URI, or the embedded wire-compatible one.

Both are reached the same way, through PyMongo's async client over the wire, so
the code that runs against the embedded database in development and tests is the
code that runs against a replica set in production.
"""

import contextlib
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from beanie import init_beanie
from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.monitoring import CommandListener

from kabinet.config import Settings
from kabinet.documents import ALL_DOCUMENTS

if TYPE_CHECKING:  # the engine costs seconds of CPU to import: only when it is started
    from mongoeco import AsyncMongoClient as EmbeddedClient
    from mongoeco.wire import AsyncMongoEcoProxyServer

logger = logging.getLogger(__name__)

EMBEDDED_FILE = "kabinet.sqlite3"

# GridFS's files are no Beanie document: the index to find an owner's files is made here.
FILES_INDEXES = [IndexModel([("metadata.owner_id", ASCENDING)], name="owner")]


def all_indexes() -> dict[str, list[IndexModel]]:
    """Every collection's indexes, by collection name (Beanie creates the documents' own)."""
    indexes = {
        document.Settings.name: list(getattr(document.Settings, "indexes", ()))
        for document in ALL_DOCUMENTS
    }
    return {**indexes, "fs.files": FILES_INDEXES}


class Database:
    """Connects (starting the embedded server when no URI is set) and initialises Beanie."""

    def __init__(
        self,
        settings: Settings,
        *,
        in_memory: bool = False,
        event_listeners: Sequence[CommandListener] = (),
        bind_documents: bool = True,
    ) -> None:
        """``bind_documents=False`` leaves Beanie's documents bound to another database of the
        process (a second one is for raw PyMongo use, e.g. tests/test_query_plans.py)."""
        self._settings = settings
        self._in_memory = in_memory
        self._bind_documents = bind_documents
        self._event_listeners = list(event_listeners)
        self._embedded: AsyncMongoEcoProxyServer | None = None
        self._embedded_client: EmbeddedClient | None = None
        self._embedded_stack = contextlib.AsyncExitStack()
        self._client: AsyncMongoClient[dict[str, Any]] | None = None
        self.uri: str | None = settings.mongodb_uri

    @property
    def client(self) -> AsyncMongoClient[dict[str, Any]]:
        if self._client is None:
            raise RuntimeError("the database is not connected")
        return self._client

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        return self.client[self._settings.database]

    @property
    def embedded_requests(self) -> Any | None:
        """The embedded engine's own requests collection (it can `watch()`), if embedded."""
        if self._embedded_client is None:
            return None
        return self._embedded_client[self._settings.database]["requests"]

    async def connect(self) -> None:
        if self.uri is None:
            self.uri = await self._start_embedded()
        self._client = AsyncMongoClient(
            self.uri,
            tz_aware=True,
            uuidRepresentation="standard",
            event_listeners=self._event_listeners,
        )
        if self._bind_documents:
            await init_beanie(database=self.db, document_models=ALL_DOCUMENTS)
            await self.db["fs.files"].create_indexes(FILES_INDEXES)

    async def _start_embedded(self) -> str:
        from mongoeco import AsyncMongoClient as EmbeddedClient
        from mongoeco.engines import MemoryEngine, SQLiteEngine
        from mongoeco.wire import AsyncMongoEcoProxyServer

        from kabinet import engine_compat

        engine_compat.apply()

        if self._in_memory:
            engine: MemoryEngine | SQLiteEngine = MemoryEngine()
            where = "memory"
        else:
            self._settings.data_dir.mkdir(parents=True, exist_ok=True)
            path = self._settings.data_dir / EMBEDDED_FILE
            engine = SQLiteEngine(str(path))
            where = str(path)
        # Our own handle on the engine's client: its in-process change streams see every
        # write that reaches the wire server, which serves no `$changeStream` itself.
        self._embedded_client = await self._embedded_stack.enter_async_context(
            EmbeddedClient(engine)
        )
        self._embedded = AsyncMongoEcoProxyServer(
            client=self._embedded_client,
            host=self._settings.embedded_host,
            port=self._settings.embedded_port,
        )
        address = await self._embedded.start()
        logger.info("embedded database listening on %s (data: %s)", address.uri, where)
        return address.uri

    async def ping(self) -> bool:
        try:
            await self.client.admin.command("ping")
        except Exception:  # any failure means "not ready"
            logger.warning("database ping failed", exc_info=True)
            return False
        return True

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._embedded is not None:
            await self._embedded.close()
            self._embedded = None
            self.uri = self._settings.mongodb_uri
        if self._embedded_client is not None:
            await self._embedded_stack.aclose()
            self._embedded_client = None

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
