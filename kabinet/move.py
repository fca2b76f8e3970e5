"""`kabinet move-data`: from the embedded database into a MongoDB of its own.

Documents travel as raw BSON (nothing is decoded into Python types and encoded
again), collection by collection in `_id` order; each collection is then checked
by its count and a SHA-256 over its documents' BSON in `_id` order, read back
from both sides. Our indexes are built on the target afterwards (Beanie's, and
GridFS's as the source has them), so a TTL index cannot remove a copied document
before it was checked.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from beanie import init_beanie
from bson import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from kabinet.config import Settings
from kabinet.db import Database, mongo_client
from kabinet.documents import ALL_DOCUMENTS

logger = logging.getLogger(__name__)

BATCH_DOCUMENTS = 1000
GRIDFS_COLLECTIONS = ("fs.files", "fs.chunks")
_RAW = CodecOptions(document_class=RawBSONDocument)


class TargetNotEmpty(Exception):
    """The target already holds some of our data: a move never merges."""


class ChecksumMismatch(Exception):
    """What was read back from the target is not what the source holds."""


@dataclass(frozen=True, slots=True)
class Moved:
    collection: str
    count: int
    sha256: str


async def move_embedded(
    settings: Settings, uri: str, database: str, *, report: Callable[[str], None]
) -> list[Moved]:
    """Move the embedded database of ``settings.data_dir`` into ``database`` at ``uri``."""
    async with Database(settings.model_copy(update={"mongodb_uri": None})) as source:
        target_client = mongo_client(uri, settings)
        try:
            return await move(source.db, target_client[database], report=report)
        finally:
            await target_client.close()


async def move(
    source_database: AsyncDatabase[dict[str, Any]],
    target_database: AsyncDatabase[dict[str, Any]],
    *,
    report: Callable[[str], None],
) -> list[Moved]:
    """Copy every collection of ``source`` into the empty ``target``, check, build indexes."""
    source = source_database.with_options(codec_options=_RAW)
    target = target_database.with_options(codec_options=_RAW)
    names = sorted(
        name for name in await source.list_collection_names() if not name.startswith("system.")
    )
    # GridFS too when the source has no files yet: the target's would be mixed with later ones.
    ours = sorted({*names, *GRIDFS_COLLECTIONS})
    occupied = [name for name in ours if await target[name].find_one({}, {"_id": 1})]
    if occupied:
        raise TargetNotEmpty(
            f"the target database {target.name!r} already holds data "
            f"({', '.join(occupied)}): move-data copies only into an empty database"
        )
    moved = []
    for name in names:
        await _copy(source[name], target[name])
        count, sha256 = await checksum(source[name])
        if (count, sha256) != await checksum(target[name]):
            raise ChecksumMismatch(f"{name}: the copy differs from the source")
        moved.append(Moved(name, count, sha256))
        report(f"{name}: {count} documents, sha256 {sha256}")
    await init_beanie(database=target_database, document_models=ALL_DOCUMENTS)
    for name in GRIDFS_COLLECTIONS:
        if name in names:
            await _copy_indexes(source[name], target[name])
    return moved


async def _copy(
    source: AsyncCollection[RawBSONDocument], target: AsyncCollection[RawBSONDocument]
) -> None:
    batch: list[RawBSONDocument] = []
    async for document in source.find({}).sort("_id", 1):
        batch.append(document)
        if len(batch) == BATCH_DOCUMENTS:
            await target.insert_many(batch)
            batch = []
    if batch:
        await target.insert_many(batch)


async def checksum(collection: AsyncCollection[RawBSONDocument]) -> tuple[int, str]:
    """How many documents, and the SHA-256 of their BSON in `_id` order."""
    digest = hashlib.sha256()
    count = 0
    async for document in collection.find({}).sort("_id", 1):
        digest.update(document.raw)
        count += 1
    return count, digest.hexdigest()


async def _copy_indexes(
    source: AsyncCollection[RawBSONDocument], target: AsyncCollection[RawBSONDocument]
) -> None:
    models = []
    async for index in await source.list_indexes():
        spec = dict(index)
        if spec["name"] == "_id_":
            continue
        options = {k: v for k, v in spec.items() if k not in ("key", "v", "ns")}
        models.append(IndexModel(list(spec["key"].items()), **options))
    if models:
        await target.create_indexes(models)
