"""`kabinet move-data`: out of the embedded database into another server, and serving from it."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from gridfs import AsyncGridFSBucket
from mongoeco import AsyncMongoClient as EmbeddedClient
from mongoeco.engines import SQLiteEngine
from mongoeco.wire import AsyncMongoEcoProxyServer
from pymongo import AsyncMongoClient

from kabinet.db import Database
from kabinet.documents import Role
from tests.accounts import login
from tests.policies import confirmed_account
from tests.support import Api, free_port
from tests.test_cli import create_operator, run_cli, serving

RECEIPT = b"%PDF-1.4\n" + bytes(range(256)) * 1200  # several GridFS chunks


@asynccontextmanager
async def embedded_server(path: Path) -> AsyncIterator[str]:
    """Another embedded database (SQLite) on a loopback port, as kabinet would start it."""
    async with EmbeddedClient(SQLiteEngine(str(path))) as engine_client:
        server = AsyncMongoEcoProxyServer(client=engine_client, host="127.0.0.1", port=0)
        address = await server.start()
        try:
            yield address.uri
        finally:
            await server.close()


async def counts(uri: str) -> dict[str, int]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        database = client["kabinet"]
        return {
            name: await database[name].count_documents({})
            for name in await database.list_collection_names()
        }
    finally:
        await client.close()


async def test_move_into_another_server_then_sign_in_and_download_there(tmp_path: Path):
    source = tmp_path / "source"
    await create_operator(source)
    port = free_port()
    async with serving(source, embedded_port=str(port)):
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(f"mongodb://127.0.0.1:{port}")
        file_id = await AsyncGridFSBucket(client["kabinet"]).upload_from_stream(
            "receipt.pdf",
            RECEIPT,
            metadata={"contentType": "application/pdf", "owner_id": ObjectId()},
        )
        await client.close()

    async with embedded_server(tmp_path / "target.sqlite3") as target:
        code, output = await run_cli("move-data", "--to", target, data_dir=str(source))

        assert code == 0, output
        assert "users: 1 documents, sha256 " in output
        assert "fs.files: 1 documents" in output
        assert "fs.chunks: 2 documents" in output
        moved = await counts(target)
        assert (moved["users"], moved["fs.files"], moved["fs.chunks"]) == (1, 1, 2)

        again, refusal = await run_cli("move-data", "--to", target, data_dir=str(source))

        assert again == 1
        assert "already holds data" in refusal
        assert "users" in refusal
        assert await counts(target) == moved  # nothing copied twice

        client = AsyncMongoClient(target)
        indexes = {
            name: [index["name"] async for index in await client["kabinet"][name].list_indexes()]
            for name in ("users", "sessions", "fs.chunks")
        }
        await client.close()
        assert "email_unique" in str(indexes["users"]), indexes  # Beanie's, on the target
        assert "files_id_1_n_1" in indexes["fs.chunks"], indexes  # GridFS's, as at the source

        async with serving(tmp_path / "served", mongodb_uri=target) as http:
            token = (await login(Api(http), "operator@example.com"))["token"]
            download = await http.get(
                f"/files/{file_id}", headers={"Authorization": f"Bearer {token}"}
            )

        assert download.status_code == 200
        assert download.content == RECEIPT


async def test_move_into_a_server_that_is_not_there_says_so(tmp_path: Path):
    code, output = await run_cli(
        "move-data",
        "--to",
        f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=500",
        data_dir=str(tmp_path),
    )
    assert code != 0
    assert "Traceback" not in output


async def test_serve_warns_when_the_embedded_database_outgrew_what_was_measured(
    database: Database, caplog: pytest.LogCaptureFixture
):
    for email in ("a@example.com", "b@example.com"):
        await confirmed_account(email, Role.CUSTOMER)

    with caplog.at_level(logging.WARNING, logger="kabinet.db"):
        within = await database.warn_if_outgrown(ceiling=2)
        beyond = await database.warn_if_outgrown(ceiling=1)

    assert (within, beyond) == (False, True)
    [warning] = caplog.messages
    assert "holds 2 accounts, more than the 1 the benchmark measured" in warning
    assert "kabinet move-data --to" in warning
