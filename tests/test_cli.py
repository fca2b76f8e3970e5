"""The `kabinet` command: serve with the embedded database, create-user, export-schema."""

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import websockets
from pymongo import AsyncMongoClient

from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import UserDocument
from tests.accounts import login
from tests.support import PASSWORD, Api, free_port, until_ready

KABINET = [sys.executable, "-m", "kabinet.cli"]


def cli_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABINET_")}
    env.update({f"KABINET_{name.upper()}": value for name, value in settings.items()})
    return env


async def run_cli(*args: str, stdin: bytes = b"", **settings: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *KABINET,
        *args,
        env=cli_env(**settings),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate(stdin)
    return process.returncode or 0, output.decode()


async def create_operator(data_dir: Path, email: str = "operator@example.com") -> None:
    """An operator account (password `tests.support.PASSWORD`) in the embedded database of
    ``data_dir``, made as an administrator would: with the command line."""
    code, output = await run_cli(
        "create-user",
        "--email",
        email,
        "--role",
        "operator",
        "--password-stdin",
        stdin=f"{PASSWORD}\n".encode(),
        data_dir=str(data_dir),
    )
    assert code == 0, output


@asynccontextmanager
async def serving(directory: Path, /, **settings: str) -> AsyncIterator[httpx.AsyncClient]:
    """`kabinet serve` in a subprocess on a free port, ready for requests; its output goes
    to `server.log` in ``directory``, also its data directory unless ``settings`` name one."""
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - before the server exists
    log = (directory / "server.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        *KABINET,
        "serve",
        env=cli_env(**{"data_dir": str(directory), "port": str(port), **settings}),
        stdout=log,
        stderr=log,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            await until_ready(http, seconds=30)
            yield http
    finally:
        with contextlib.suppress(ProcessLookupError):  # unless a test made it exit already
            process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 15)
        log.close()


async def test_serve_keeps_data_in_the_data_dir_across_restarts(tmp_path: Path):
    register = """mutation { register(input: {email: "anna@example.com", password: "Anna-pass-1",
                  passwordConfirmation: "Anna-pass-1"}) { __typename } }"""
    login_query = """mutation { login(input: {email: "anna@example.com", password: "Anna-pass-1"})
                     { __typename ... on NotAllowed { code } } }"""
    async with serving(tmp_path) as http:
        response = await http.post("/graphql", json={"query": register})
        assert response.json()["data"]["register"]["__typename"] == "RegisterSuccess"

    assert (tmp_path / "kabinet.sqlite3").exists()
    # The embedded database stopped cleanly with the server (it cannot under uvloop).
    log = (tmp_path / "server.log").read_text()
    assert "Application shutdown complete" in log
    assert "shutdown failed" not in log
    async with serving(tmp_path) as http:
        response = await http.post("/graphql", json={"query": login_query})
        assert response.json()["data"]["login"] == {
            "__typename": "NotAllowed",
            "code": "EMAIL_NOT_CONFIRMED",
        }


def test_the_public_url_follows_the_address_served_unless_set():
    assert Settings(_env_file=None, port=8123).public_url == "http://127.0.0.1:8123"
    wildcard = "0.0.0.0"  # noqa: S104 - not bound, only named
    assert Settings(_env_file=None, host=wildcard, port=81).public_url == "http://127.0.0.1:81"
    assert Settings(_env_file=None, host="::1", port=81).public_url == "http://[::1]:81"
    configured = Settings(_env_file=None, port=8123, public_url="https://cabinet.example")
    assert configured.public_url == "https://cabinet.example"


async def test_emailed_links_point_at_the_port_served(tmp_path: Path):
    register = """mutation { register(input: {email: "port@example.com", password: "Port-pass-1",
                  passwordConfirmation: "Port-pass-1"}) { __typename } }"""
    async with serving(tmp_path) as http:  # only KABINET_PORT is set, to a free port
        response = await http.post("/graphql", json={"query": register})
        assert response.json()["data"]["register"]["__typename"] == "RegisterSuccess"
        link = f"{str(http.base_url).rstrip('/')}/confirm-email?token="
        async with asyncio.timeout(10):
            while link not in (tmp_path / "server.log").read_text():  # noqa: ASYNC110 - a log file, read until the line is written
                await asyncio.sleep(0.1)
        assert ":8000" not in (tmp_path / "server.log").read_text()


async def test_serve_takes_the_client_address_from_trusted_proxies_only(tmp_path: Path):
    """Behind a load balancer the per-IP limits must see the client, not the balancer;
    without KABINET_FORWARDED_ALLOW_IPS nobody may claim an address in a header."""
    db_port = str(free_port())
    uri = f"mongodb://127.0.0.1:{db_port}/?directConnection=true"
    login_query = """mutation { login(input: {email: "proxied@example.com",
                     password: "Proxied-pass-1"}) { __typename } }"""
    seen: dict[str, str] = {}
    for trusted in ("127.0.0.1", ""):
        async with serving(tmp_path, embedded_port=db_port, forwarded_allow_ips=trusted) as http:
            if not seen:
                arguments = ("--email", "proxied@example.com", "--password", "Proxied-pass-1")
                code, output = await run_cli("create-user", *arguments, mongodb_uri=uri)
                assert code == 0, output
            response = await http.post(
                "/graphql",
                json={"query": login_query},
                headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.2"},
            )
            assert response.json()["data"]["login"]["__typename"] == "AuthSuccess"
            async with AsyncMongoClient(uri) as client:
                newest = await client.kabinet.sessions.find_one(sort=[("created_at", -1)])
            seen[trusted or "unset"] = newest["ip"]

    # A client may write anything in front; the balancer appends the address it saw.
    assert seen == {"127.0.0.1": "10.0.0.2", "unset": "127.0.0.1"}


async def test_create_user_makes_a_confirmed_operator(api: Api, database: Database):
    code, output = await run_cli(
        "create-user",
        "--email",
        "Operator@Example.com",
        "--role",
        "operator",
        "--password",
        "Operator-pass-1",
        mongodb_uri=database.uri or "",
        database=database.db.name,
    )
    assert code == 0, output
    assert "created operator Operator@Example.com" in output

    signed_in = await login(api, "operator@example.com", "Operator-pass-1")
    assert signed_in["__typename"] == "AuthSuccess"
    assert signed_in["user"]["role"] == "OPERATOR"
    assert signed_in["user"]["emailConfirmed"] is True


@pytest.mark.parametrize(
    ("how", "stdin"),
    [
        (("--password-stdin",), b"Scripted-pass-1\n"),
        ((), b"Scripted-pass-1\nScripted-pass-1\n"),  # the prompt asks twice
    ],
)
async def test_create_user_takes_the_password_from_stdin_or_the_prompt(
    api: Api, database: Database, how: tuple[str, ...], stdin: bytes
):
    code, output = await run_cli(
        "create-user",
        "--email",
        "scripted@example.com",
        *how,
        stdin=stdin,
        mongodb_uri=database.uri or "",
        database=database.db.name,
    )
    assert code == 0, output
    assert ("Repeat for confirmation" in output) == (not how)
    assert (await login(api, "scripted@example.com", "Scripted-pass-1"))["__typename"] == (
        "AuthSuccess"
    )


async def test_a_prompted_password_typed_differently_twice_creates_nothing(database: Database):
    code, output = await run_cli(
        "create-user",
        "--email",
        "typo@example.com",
        stdin=b"Scripted-pass-1\nScripted-pass-2\n",
        mongodb_uri=database.uri or "",
        database=database.db.name,
    )
    assert code != 0
    assert "do not match" in output
    assert await UserDocument.find_one({"email": "typo@example.com"}) is None


async def test_help_loads_neither_the_database_layer_nor_the_schema():
    probe = (
        "import sys\n"
        "from kabinet.cli import main\n"
        "try:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('mongoeco', 'beanie', 'pymongo', 'strawberry', 'uvicorn', 'argon2')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, stdout=asyncio.subprocess.PIPE, env=cli_env()
    )
    output, _ = await process.communicate()
    assert output.decode().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("email", "password", "reason"),
    [
        ("not-an-email", "Operator-pass-1", "email"),
        ("op@example.com", "weak", "password"),
    ],
)
async def test_create_user_refuses_bad_input(
    database: Database, email: str, password: str, reason: str
):
    code, output = await run_cli(
        "create-user",
        "--email",
        email,
        "--password",
        password,
        mongodb_uri=database.uri or "",
        database=database.db.name,
    )
    assert code != 0
    assert f"{reason}:" in output


async def test_create_user_refuses_a_taken_email(database: Database):
    arguments = ("create-user", "--email", "admin@example.com", "--role", "admin")
    where = {"mongodb_uri": database.uri or "", "database": database.db.name}
    first, _ = await run_cli(*arguments, "--password", "Admin-pass-1", **where)
    second, output = await run_cli(*arguments, "--password", "Admin-pass-1", **where)
    assert first == 0
    assert second != 0
    assert "already exists" in output


async def test_export_schema_prints_the_checked_in_sdl(project_root: Path):
    code, output = await run_cli("export-schema")
    assert code == 0
    assert output.strip() == (project_root / "schema.graphql").read_text().strip()


async def test_a_websocket_message_has_the_body_limit(tmp_path: Path):
    async with serving(tmp_path, max_body_bytes="65536") as http:
        url = str(http.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"
        async with websockets.connect(
            url, subprotocols=["graphql-transport-ws"], max_size=None
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"x": "y" * 70000}}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009  # message too big
