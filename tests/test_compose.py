"""docker-compose.yml and deploy/, checked as far as a machine without a Docker engine allows.

The compose file is read as YAML and held against the code: setting names exist in
`Settings`, the API's MongoDB URI names the replica set the init script creates,
the proxy's upstreams are the API services, every long-running service has a health
check. deploy/Caddyfile then runs for real (Debian's caddy) in front of two
`kabinet serve` processes sharing one database.
"""

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml
from pymongo import AsyncMongoClient

from kabinet.config import Settings
from tests import dockerfile
from tests.support import free_port, until_ready
from tests.test_cli import run_cli, serving
from tests.test_event_streams import STATUS, graphql_sse_client
from tests.test_processes import CHANGE, FILE, LOGIN, first_event_on, gql

MONGO = ("mongo-1", "mongo-2", "mongo-3")
APIS = ("api-1", "api-2")
SETTINGS = {f"KABINET_{name.upper()}" for name in Settings.model_fields}


def compose(project_root: Path) -> dict[str, Any]:
    return yaml.safe_load((project_root / "docker-compose.yml").read_text())


def test_services(project_root: Path):
    services = compose(project_root)["services"]
    assert set(services) == {*MONGO, "mongo-init", *APIS, "proxy"}
    for name in MONGO:
        node = services[name]
        assert node["image"].startswith("mongo:8")
        assert node["command"][:3] == ["mongod", "--replSet", "rs0"]
        assert "ports" not in node
    volumes = [services[name]["volumes"][0].split(":")[0] for name in MONGO]
    assert sorted(volumes) == sorted(set(volumes)), "each node keeps its own data"
    for name in APIS:
        assert services[name]["build"] == "."
        assert "ports" not in services[name], "the API is reached through the proxy only"
        assert services[name]["depends_on"]["mongo-init"] == {
            "condition": "service_completed_successfully"
        }
    assert services["proxy"]["ports"] == ["8080:80"]


def test_every_long_running_service_has_a_health_check(project_root: Path):
    services = compose(project_root)["services"]
    image = dockerfile.parse((project_root / "Dockerfile").read_text())[-1]
    assert image.all("HEALTHCHECK"), "the API's health check is the image's"
    for name, service in services.items():
        if name == "mongo-init":
            assert service["restart"] == "no"
        elif name not in APIS:
            assert service["healthcheck"]["test"][0] == "CMD", name


def test_the_api_settings_exist_and_point_at_the_replica_set(project_root: Path):
    services = compose(project_root)["services"]
    for name in APIS:
        environment = services[name]["environment"]
        assert {key for key in environment if key.startswith("KABINET_")} <= SETTINGS
        uri = urlsplit(environment["KABINET_MONGODB_URI"])
        assert uri.netloc.split(",") == [f"{node}:27017" for node in MONGO]
        assert parse_qs(uri.query)["replicaSet"] == ["rs0"]
        # env files: the committed defaults, then kabinet.env (as in the example).
        files = [entry["path"] for entry in services[name]["env_file"]]
        assert files == ["deploy/compose.env", "kabinet.env"]
        for path in ("deploy/compose.env", "deploy/kabinet.env.example"):
            names = set(re.findall(r"^(KABINET_\w+)=", (project_root / path).read_text(), re.M))
            assert names, path
            assert names <= SETTINGS, path
            # `environment` wins over env files: a name in both could never be changed.
            assert names.isdisjoint(environment), path


def test_the_init_script_makes_the_compose_nodes_one_replica_set(project_root: Path):
    services = compose(project_root)["services"]
    init = services["mongo-init"]
    mounted, inside, _ = init["volumes"][0].split(":")
    script = (project_root / mounted).read_text()
    assert inside in init["command"]
    members = re.search(r"const members = \[(.*?)\];", script, re.S)
    assert members
    assert re.findall(r'"([\w-]+:\d+)"', members.group(1)) == [f"{n}:27017" for n in MONGO]
    assert '_id: "rs0"' in script
    assert set(init["depends_on"]) == set(MONGO)


async def test_the_init_script_is_valid_javascript(project_root: Path):
    process = await asyncio.create_subprocess_exec(
        "node",
        "--check",
        project_root / "deploy" / "mongo-replica-set.js",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()


def test_only_the_proxy_network_may_forward_client_addresses(project_root: Path):
    """X-Forwarded-For is believed from KABINET_FORWARDED_ALLOW_IPS: the backend subnet."""
    document = compose(project_root)
    (subnet,) = [pool["subnet"] for pool in document["networks"]["backend"]["ipam"]["config"]]
    for name in APIS:
        assert document["services"][name]["environment"]["KABINET_FORWARDED_ALLOW_IPS"] == subnet
        assert document["services"][name]["networks"] == ["backend"]
    assert document["services"]["proxy"]["networks"] == ["backend"]


def test_the_proxy_sends_to_every_api_replica(project_root: Path):
    services = compose(project_root)["services"]
    runtime = dockerfile.parse((project_root / "Dockerfile").read_text())[-1]
    port = runtime.env()["KABINET_PORT"]
    proxy = services["proxy"]
    assert re.fullmatch(r"caddy:2\.(1[1-9]|[2-9]\d)-alpine", proxy["image"]), "retries POSTs"
    assert proxy["environment"]["KABINET_UPSTREAMS"].split() == [f"{a}:{port}" for a in APIS]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]


@contextlib.asynccontextmanager
async def caddy(project_root: Path, tmp_path: Path, upstreams: list[int]) -> AsyncIterator[str]:
    """deploy/Caddyfile under Debian's caddy on a free loopback port; yields its base URL."""
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "KABINET_SITE": f"http://127.0.0.1:{port}",
        "KABINET_UPSTREAMS": " ".join(f"127.0.0.1:{upstream}" for upstream in upstreams),
    }
    caddyfile = project_root / "deploy" / "Caddyfile"
    command = ["run", "--config", caddyfile, "--adapter", "caddyfile"]
    with (tmp_path / "caddy.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            shutil.which("caddy") or "caddy", *command, env=env, stdout=log, stderr=log
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base) as http:
                await until_ready(http, seconds=20)
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 15)


async def test_the_caddyfile_balances_two_api_processes(project_root: Path, tmp_path: Path):
    db_port = free_port()
    uri = f"mongodb://127.0.0.1:{db_port}/?directConnection=true"
    # Caddy runs on loopback here, as the backend network is in the compose file.
    # Quick keep-alives: the proxy notices a client gone from an event stream when it
    # next writes to it, and closes the stream to the replica.
    polling = {
        "events_poll_seconds": "0.1",
        "forwarded_allow_ips": "127.0.0.1",
        "sse_keep_alive_seconds": "0.2",
    }
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(
            serving(tmp_path / "a", embedded_port=str(db_port), **polling)
        )
        code, output = await run_cli("seed-demo", mongodb_uri=uri)
        assert code == 0, output
        second_process = contextlib.AsyncExitStack()
        second = await second_process.enter_async_context(
            serving(tmp_path / "b", mongodb_uri=uri, **polling)
        )
        upstreams = [first.base_url.port or 0, second.base_url.port or 0]
        base = await stack.enter_async_context(caddy(project_root, tmp_path, upstreams))
        # A client on another loopback address, forging the header the proxy sets.
        as_client = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        proxy = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=base, transport=as_client, headers={"X-Forwarded-For": "203.0.113.9"}
            )
        )

        customer = (await gql(proxy, LOGIN, email="demo@example.com"))["login"]["token"]
        operator = (await gql(proxy, LOGIN, email="operator@example.com"))["login"]["token"]
        database = AsyncMongoClient(uri)
        stack.push_async_callback(database.close)
        sessions = await database["kabinet"]["sessions"].find().to_list()
        assert [session["ip"] for session in sessions] == ["127.0.0.2", "127.0.0.2"]

        # A subscription over a WebSocket through the proxy sees a change made through it.
        request = (await gql(proxy, FILE, customer))["createRequest"]
        before = datetime.now(UTC) - timedelta(milliseconds=1)
        await gql(proxy, CHANGE, operator, id=request["id"], status="IN_PROGRESS")
        seen = await first_event_on(proxy, customer, request["id"], before)
        assert seen == {"number": request["number"], "status": "IN_PROGRESS"}

        # And over Server-Sent Events with the npm graphql-sse client, passed through as
        # written (a buffered stream would show nothing before it ends). In single
        # connection mode each of its requests must reach the replica holding its stream.
        for mode in ("distinct", "single", "single", "single"):
            node = await graphql_sse_client(
                project_root, base, customer, STATUS, mode, 1, before.isoformat()
            )
            output, errors = await asyncio.wait_for(node.communicate(), 30)
            assert node.returncode == 0, f"{mode}: {errors.decode()}"
            (heard,) = json.loads(output)
            assert heard["data"]["requestUpdated"]["request"]["status"] == "IN_PROGRESS"

        # One replica goes away: the same session keeps working through the other. (A
        # GET: Debian's caddy 2.6 cannot retry a POST after a refused connection.)
        await second_process.aclose()
        for _ in range(4):
            me = await proxy.get(
                "/graphql",
                params={"query": "{ me { email } }"},
                headers={"Authorization": f"Bearer {customer}", "GraphQL-Require-Preflight": "1"},
            )
            assert me.json() == {"data": {"me": {"email": "demo@example.com"}}}
