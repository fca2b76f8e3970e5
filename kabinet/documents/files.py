"""GridFS collections of uploaded documents and their indexes (not Beanie documents: the
driver's GridFS reads them, kabinet.resolvers.files writes them)."""

from typing import Any

from gridfs import DEFAULT_CHUNK_SIZE
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

FILES = "fs.files"
CHUNKS = "fs.chunks"
CHUNK_SIZE = DEFAULT_CHUNK_SIZE

INDEXES = {
    FILES: [
        # Erasure finds a person's files by owner, also those no request refers to.
        IndexModel([("metadata.owner_id", ASCENDING)], name="owner"),
        # The sweep reads only files not yet seen referenced by their request.
        IndexModel(
            [("uploadDate", ASCENDING)],
            partialFilterExpression={"metadata.pending": True},
            name="pending",
        ),
    ],
    # GridFS's own chunk index (the name and options the driver would create).
    CHUNKS: [IndexModel([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)],
}


async def ensure_file_indexes(database: AsyncDatabase[dict[str, Any]]) -> None:
    for collection, indexes in INDEXES.items():
        await database[collection].create_indexes(indexes)
