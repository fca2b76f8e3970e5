"""The MongoDB connection: a real server by URI, or the embedded wire-compatible one.

Both are reached the same way, through PyMongo's async client over the wire, so
the code that runs against the embedded database in development and tests is the
code that runs against a replica set in production.
"""

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from beanie import Document, init_beanie
from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.monitoring import CommandListener

from kabinet import engine_compat
from kabinet.config import Settings
from kabinet.documents import ALL_DOCUMENTS
from kabinet.documents.files import INDEXES as FILE_INDEXES
from kabinet.documents.files import ensure_file_indexes

if TYPE_CHECKING:  # the engine costs seconds of CPU to import: only when it is started
    from mongoeco import AsyncMongoClient as EmbeddedClient
    from mongoeco.engines import SQLiteEngine
    from mongoeco.wire import AsyncMongoEcoProxyServer

logger = logging.getLogger(__name__)

EMBEDDED_FILE = "kabinet.sqlite3"
CHECKPOINT_BUSY_SECONDS = 5.0


def writing_connections(engine: "SQLiteEngine") -> list[sqlite3.Connection]:
    """The SQLite connections through which mongoeco's engine writes: documents, and the
    change-stream outbox that holds whole documents. mongoeco has no public hook on them,
    so this is the one place that reads its private attributes; tests/test_disk_erasure.py
    fails if they move."""
    return [
        connection
        for connection in (engine._connection, engine._change_delivery_connection)
        if connection is not None
    ]


def keep_change_history(client: Any) -> Any:
    """A change stream on the embedded ``client``, opened and never read, to be closed with it.

    The engine records changes only while one of its streams is open; this one keeps it
    recording from the start (its last 10,000 changes, as MongoDB's oplog keeps its own),
    so a stream reopened after the last change it delivered resumes without a gap.
    """
    return client.watch()


def checkpoint_truncate(path: Path) -> bool:
    """Copy the write-ahead log into the database file and empty it (any connection may);
    False when a reader kept it from finishing within CHECKPOINT_BUSY_SECONDS."""
    with contextlib.closing(
        sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=CHECKPOINT_BUSY_SECONDS)
    ) as connection:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy


# The most members (accounts) the embedded database was measured with: the large size of
# the benchmark's scale section (docs/performance.md, Scale); `kabinet serve` says how to
# move to MongoDB beyond it.
EMBEDDED_VERIFIED_MEMBERS = 10_000


def mongo_client(
    uri: str, settings: Settings, event_listeners: Sequence[CommandListener] = ()
) -> AsyncMongoClient[dict[str, Any]]:
    """A client whose writes are acknowledged once a majority of the replica set holds them,
    whatever the set's shape (a write acknowledged by the primary alone can roll back on
    failover); the embedded server accepts the same write concern."""
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        uuidRepresentation="standard",
        w="majority",
        wTimeoutMS=settings.write_concern_timeout_ms,
        event_listeners=list(event_listeners),
    )


async def find_one[D: Document](document: type[D], query: dict[str, Any]) -> D | None:
    """One document of ``query`` through PyMongo, validated as Beanie's `find_one` would;
    Beanie's query building and parsing cost several times the lookup on hot paths (each
    request resolves its session and account this way)."""
    stored = await document.get_pymongo_collection().find_one(query)
    return None if stored is None else from_stored(document, stored)


async def find_all[D: Document](
    document: type[D], query: dict[str, Any], *, sort: str | None = None
) -> list[D]:
    """Every document of ``query`` (ascending by ``sort`` when given), as `find_one` reads
    one: a `me` reads the account's contacts and cards this way."""
    cursor = document.get_pymongo_collection().find(query)
    if sort is not None:
        cursor = cursor.sort(sort)
    return [from_stored(document, stored) for stored in await cursor.to_list()]


def from_stored[D: Document](document: type[D], stored: dict[str, Any]) -> D:
    """``stored`` validated as ``document``, as `model_validate` validates it (private
    attributes and post-init included), without the two `__init__` layers, Beanie's and
    pydantic's, that it passes through for a model with an `__init__` of its own."""
    instance = document.__new__(document)
    document.__pydantic_validator__.validate_python(stored, self_instance=instance)
    return instance


def all_indexes() -> dict[str, list[IndexModel]]:
    """Every collection's indexes, by collection name (Beanie creates the documents' own)."""
    indexes = {
        document.Settings.name: list(getattr(document.Settings, "indexes", ()))
        for document in ALL_DOCUMENTS
    }
    return {**indexes, **FILE_INDEXES}


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
        self._sqlite_file: Path | None = None
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
        self._client = mongo_client(self.uri, self._settings, self._event_listeners)
        if self._bind_documents:
            await init_beanie(database=self.db, document_models=ALL_DOCUMENTS)
            await ensure_file_indexes(self.db)
        if self._embedded_client is not None:
            # Once the indexes exist: an open stream's heartbeat writes to the file, and
            # waiting behind the build of a new index on a large collection, it failed.
            self._embedded_stack.callback(keep_change_history(self._embedded_client).close)

    async def _start_embedded(self) -> str:
        from mongoeco import AsyncMongoClient as EmbeddedClient
        from mongoeco.engines import MemoryEngine, SQLiteEngine
        from mongoeco.wire import AsyncMongoEcoProxyServer

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
        if isinstance(engine, SQLiteEngine):
            # Deleted and overwritten content is zeroed, not left in free space.
            for connection in writing_connections(engine):
                connection.execute("PRAGMA secure_delete=ON")
                engine_compat.note_writes(engine, connection)
                engine_compat.index_entries_by_document(connection)
            engine_compat.share_entry_indexes(engine, writing_connections(engine)[0])
            engine_compat.keep_collection_sizes(writing_connections(engine)[0])
            self._sqlite_file = path
        self._embedded = AsyncMongoEcoProxyServer(
            client=self._embedded_client,
            host=self._settings.embedded_host,
            port=self._settings.embedded_port,
        )
        address = await self._embedded.start()
        logger.info("embedded database listening on %s (data: %s)", address.uri, where)
        return address.uri

    async def wipe_journal(self) -> None:
        """After an erasure: with secure_delete the erased content is zeroes in the newest
        pages, but the write-ahead log still holds their earlier versions until it is
        checkpointed and emptied. Nothing to do for a MongoDB server or in memory."""
        if self._sqlite_file is None:
            return
        if not await asyncio.to_thread(checkpoint_truncate, self._sqlite_file):
            logger.warning(
                "the database journal was busy: erased data stays in it until a later "
                "erasure or a restart empties it"
            )

    async def warn_if_outgrown(self, ceiling: int = EMBEDDED_VERIFIED_MEMBERS) -> bool:
        """Log a warning when the embedded database holds more accounts than ``ceiling``."""
        if self._embedded is None:
            return False
        members = await self.db["users"].estimated_document_count()
        if members <= ceiling:
            return False
        logger.warning(
            "the embedded database holds %d accounts, more than the %d the benchmark "
            "measured it with; move to MongoDB: stop the server, run "
            "`kabinet move-data --to mongodb://...` and set KABINET_MONGODB_URI "
            "(docs/deployment.md, Moving to MongoDB)",
            members,
            ceiling,
        )
        return True

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
            self._sqlite_file = None

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
