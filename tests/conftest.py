"""Shared test rig: a real wire-protocol MongoDB, a real SMTP server, a real HTTP server.

One embedded database (or ``KABINET_TEST_MONGODB_URI``), one aiosmtpd server and
one uvicorn server on loopback serve the whole session; every test starts with
empty collections, an empty mailbox and the real time.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from kabinet.app import create_app
from kabinet.clock import clock
from kabinet.config import Settings, SmtpSecurity
from kabinet.db import Database
from kabinet.documents import ALL_DOCUMENTS, LinkKeyDocument
from kabinet.wire import WS_PER_MESSAGE_DEFLATE
from tests.policies import staff_token
from tests.requests_support import customer
from tests.support import Api, CommandLog, Mailbox, SmsGateway, free_port


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    box.start()
    yield box
    box.stop()


async def serve_on_loopback(
    app: Any, **options: Any
) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    """``app`` under uvicorn, configured as `kabinet serve` unless ``options`` say otherwise."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=free_port(),
        log_level="warning",
        **{"ws_per_message_deflate": WS_PER_MESSAGE_DEFLATE, **options},
    )
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    async with asyncio.timeout(10):
        while not instance.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.01)
    return instance, task, config.port


@pytest.fixture(scope="session")
async def sms_gateway() -> AsyncIterator[SmsGateway]:
    gateway = SmsGateway()
    instance, task, port = await serve_on_loopback(gateway)
    gateway.url = f"http://127.0.0.1:{port}/sms"
    yield gateway
    instance.should_exit = True
    await task


@pytest.fixture(scope="session")
def settings(
    mailbox: Mailbox, sms_gateway: SmsGateway, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    uri = os.environ.get("KABINET_TEST_MONGODB_URI")
    return Settings(
        _env_file=None,
        mongodb_uri=uri,
        database=f"kabinet_test_{uuid.uuid4().hex[:8]}" if uri else "kabinet",
        data_dir=tmp_path_factory.mktemp("data"),
        public_url="http://cabinet.test",
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_tls=SmtpSecurity.NONE,
        smtp_from="Kabinet <no-reply@cabinet.test>",
        sms_gateway_url=sms_gateway.url,
        sms_gateway_token="gateway-secret",
        outbox_poll_seconds=0.2,
        events_poll_seconds=0.1,
        outbox_retry_base_seconds=30,
    )


@pytest.fixture(scope="session")
def command_log() -> CommandLog:
    return CommandLog()


@pytest.fixture(scope="session")
async def database(settings: Settings, command_log: CommandLog) -> AsyncIterator[Database]:
    db = Database(settings, in_memory=True, event_listeners=[command_log])
    await db.connect()
    yield db
    if settings.mongodb_uri:
        await db.client.drop_database(settings.database)
    await db.close()


@asynccontextmanager
async def served(settings: Settings, database: Database) -> AsyncIterator[str]:
    """An app configured by ``settings`` on ``database``, under uvicorn on a loopback port;
    its base URL. Two apps with different settings run side by side (nothing is global)."""
    instance, task, port = await serve_on_loopback(create_app(settings, database=database))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        await task


@pytest.fixture(scope="session")
async def server(settings: Settings, database: Database) -> AsyncIterator[str]:
    """The app under uvicorn on a loopback port; yields its base URL."""
    async with served(settings, database) as url:
        yield url


@pytest.fixture(autouse=True)
async def clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty collections and mailbox, real time: each test starts from nothing."""
    clock.reset()
    if "database" in request.fixturenames:
        request.getfixturevalue("database")
        for document in ALL_DOCUMENTS:
            if document is not LinkKeyDocument:  # the deployment's, as the server has it
                await document.get_pymongo_collection().delete_many({})
        for gridfs_collection in ("fs.files", "fs.chunks"):
            await request.getfixturevalue("database").db[gridfs_collection].delete_many({})
        request.getfixturevalue("mailbox").messages.clear()
        request.getfixturevalue("sms_gateway").reset()
    yield
    clock.reset()


@pytest.fixture
async def api(server: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        yield Api(http)


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).parent.parent


@pytest.fixture
async def member(api: Api, mailbox: Mailbox) -> str:
    """A signed-in member's token, whose confirmed phone links an ACTIVE card (UA-1)."""
    return await customer(api, mailbox)


@pytest.fixture
async def operator(api: Api) -> str:
    """A signed-in operator's token."""
    return await staff_token(api, "operator@example.com", "operator")
