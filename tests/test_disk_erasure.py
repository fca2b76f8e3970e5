"""After `deleteAccount`, nothing the person typed is readable in the data directory."""

import json
from pathlib import Path

from mongoeco import AsyncMongoClient as EmbeddedClient
from mongoeco.engines import SQLiteEngine

from kabinet.db import writing_connections
from tests.operations import CREATE_REQUEST, DELETE_ACCOUNT, SET_ADDRESS, UPDATE_PROFILE
from tests.requests_support import window
from tests.test_cli import run_cli, serving
from tests.test_processes import LOGIN, gql

# Distinctive enough that no other byte sequence in the files could match by chance.
TYPED = {
    "lastName": "Zhovtoblakytna",
    "firstName": "Яросвітлана",
    "street": "вулиця Квітучих Абрикос",
    "reason": "Біль у лівому мізинці",
    "topic": "Передзвоніть увечері Qwertyuiop",
}


def encodings(text: str) -> list[bytes]:
    """How a string may sit in a file: UTF-8, JSON-escaped, UTF-16."""
    escaped = json.dumps(text)[1:-1]
    return [text.encode(), escaped.encode(), text.encode("utf-16-le")]


def found_in(directory: Path, texts: list[str]) -> list[tuple[str, str]]:
    """(file, text) for every text readable in any file under ``directory``."""
    return [
        (path.name, text)
        for path in directory.rglob("*")
        if path.is_file() and path.name != "server.log"  # the test's own capture of stdout
        for content in [path.read_bytes()]
        for text in texts
        if any(form in content for form in encodings(text))
    ]


async def test_an_erased_account_leaves_nothing_typed_in_the_data_directory(tmp_path: Path):
    code, output = await run_cli("seed-demo", data_dir=str(tmp_path))
    assert code == 0, output
    async with serving(tmp_path) as http:
        token = (await gql(http, LOGIN, email="demo@example.com"))["login"]["token"]
        profile = {"lastName": TYPED["lastName"], "firstName": TYPED["firstName"]}
        await gql(http, UPDATE_PROFILE, token, input=profile)
        address = {"kind": "HOME", "city": "Київ", "street": TYPED["street"], "building": "7"}
        address_id = (await gql(http, SET_ADDRESS, token, input=address))["setAddress"]["id"]
        visit = {
            "specialty": "Терапевт",
            "reason": TYPED["reason"],
            "preferredTimes": [window()],
            "homeVisit": True,
            "addressId": address_id,
        }
        filed = await gql(http, CREATE_REQUEST, token, input={"doctorAppointment": visit})
        assert filed["createRequest"]["__typename"] == "Request", filed
        await gql(http, CREATE_REQUEST, token, input={"callback": {"topic": TYPED["topic"]}})
        # Before the erasure the test can see them: it would notice a format it misses.
        assert found_in(tmp_path, list(TYPED.values()))

        deleted = await gql(http, DELETE_ACCOUNT, token, input={"password": "Demo-pass-1"})
        assert deleted["deleteAccount"]["__typename"] == "Accepted", deleted

        # While the server runs, as an attacker with the disk would read it.
        assert found_in(tmp_path, list(TYPED.values())) == []


async def test_the_engines_writing_connections_are_found_and_delete_securely(tmp_path: Path):
    """kabinet.db reaches mongoeco's SQLite connections through private attributes: this
    fails when a mongoeco upgrade moves them."""
    engine = SQLiteEngine(str(tmp_path / "probe.sqlite3"))
    async with EmbeddedClient(engine) as client:
        connections = writing_connections(engine)
        before = [connection.total_changes for connection in connections]
        await client["kabinet"]["probe"].insert_one({"name": "Zhovtoblakytna"})

        assert len(connections) == 2
        # The documents and the change outbox are written through them.
        assert all(
            after > earlier
            for after, earlier in zip(
                [connection.total_changes for connection in connections], before, strict=True
            )
        )
