"""What an operator sees: /metrics as Prometheus scrapes it, and logs that carry request
ids and never a password, code or token."""

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kabinet.app import create_app
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.i18n import Locale, translate
from kabinet.observe import ObserveMiddleware
from tests.accounts import login, signed_up
from tests.conftest import serve_on_loopback
from tests.operations import (
    ADD_CONTACT,
    CHANGE_PASSWORD,
    CONFIRM_EMAIL,
    REGISTER,
    REQUEST_PASSWORD_RESET,
    RESET_PASSWORD,
    VERIFY_CONTACT,
)
from tests.subscriptions import UPDATED, subscribed
from tests.support import PASSWORD, Api, Mailbox, SmsGateway, eventually, link_token, sms_code
from tests.test_cli import serving

EMAIL = "olena@example.com"
PHONE = "+380671234567"

type Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    """Every sample of /metrics, by name and sorted labels, parsed as Prometheus does."""
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def grown(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much a counter grew between two scrapes (counters are per process)."""
    return sample(after, name, **labels) - sample(before, name, **labels)


async def test_metrics_count_operations_by_name_and_outcome_and_rate_limit_rejections(
    api: Api, mailbox: Mailbox
):
    await signed_up(api, mailbox, EMAIL)
    before = await scrape(api.http)
    for _ in range(11):  # the 11th is over the per-account login limit
        await login(api, EMAIL, "Wrong-pass-1")
    await api.post("{ passwordPolicy { minLenght } }")
    # Names clients choose make no labels: the label is the schema field.
    for n in range(3):
        await api.post(f"query Invented{n} {{ passwordPolicy {{ minLength }} }}")
        await api.post(f"query Invented{n} {{ invented{n} }}")
    await api.post("{ __schema { queryType { name } } }")  # GraphiQL's, codegen's
    after = await scrape(api.http)

    operations = "kabinet_graphql_operations_total"
    # A typed error in a mutation's result union is an answer, not a failure.
    assert grown(before, after, operations, operation="login", type="mutation", outcome="ok") == 11
    policy = {"operation": "passwordPolicy", "type": "query"}
    assert grown(before, after, operations, **policy, outcome="error") == 1
    assert grown(before, after, operations, **policy, outcome="ok") == 3
    assert (
        grown(before, after, operations, operation="_invalid", type="query", outcome="error") == 3
    )
    assert not [labels for name, labels in after if "Invented" in str(labels)]
    assert grown(before, after, operations, operation="__schema", type="query", outcome="ok") == 1
    assert (
        grown(before, after, "kabinet_rate_limit_rejections_total", limit="login:account-ip") == 1
    )
    durations = "kabinet_graphql_operation_duration_seconds_count"
    assert grown(before, after, durations, type="mutation") == 11
    http = "kabinet_http_requests_total"
    assert grown(before, after, http, method="POST", route="/graphql", status="200") == 19


async def test_methods_outside_the_apis_make_no_labels_of_their_own(api: Api):
    """HTTP allows any token as a method (the HTTP parser limits them to the thirty-odd
    it knows): those the API has no use for are counted as "other"."""
    before = await scrape(api.http)
    for method in ("PROPFIND", "MKCOL", "LOCK"):
        await api.http.request(method, "/healthz")
    after = await scrape(api.http)
    http = "kabinet_http_requests_total"
    assert grown(before, after, http, method="other", route="/healthz", status="405") == 3
    assert not [labels for name, labels in after if "PROPFIND" in str(labels)]


async def test_metrics_show_open_sockets_and_subscriptions(api: Api, mailbox: Mailbox, server: str):
    token = await signed_up(api, mailbox, EMAIL)
    idle = await scrape(api.http)
    async with subscribed(server, token, UPDATED):
        busy = await scrape(api.http)
    assert sample(busy, "kabinet_websocket_connections") == (
        sample(idle, "kabinet_websocket_connections") + 1
    )
    assert sample(busy, "kabinet_subscriptions") == sample(idle, "kabinet_subscriptions") + 1

    async def closed() -> bool:
        now = await scrape(api.http)
        return sample(now, "kabinet_subscriptions") == sample(idle, "kabinet_subscriptions")

    await eventually(closed)


async def test_metrics_show_the_outbox_backlog_and_failed_deliveries(api: Api, mailbox: Mailbox):
    before = await scrape(api.http)
    mailbox.stop()
    try:
        await api.data(
            REGISTER,
            {"input": {"email": EMAIL, "password": PASSWORD, "passwordConfirmation": PASSWORD}},
        )

        async def failed_once() -> Samples | None:
            now = await scrape(api.http)
            failures = "kabinet_outbox_delivery_failures_total"
            return now if grown(before, now, failures, channel="email", final="false") else None

        during = await eventually(failed_once)
        assert sample(during, "kabinet_outbox_backlog", channel="email") == 1
    finally:
        mailbox.start()


@pytest.fixture
async def guarded(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A second server on the same database whose /metrics asks for a token."""
    configured = settings.model_copy(update={"metrics_token": "scraper-secret"})
    instance, task, port = await serve_on_loopback(create_app(configured, database=database))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        yield http
    instance.should_exit = True
    await task


async def test_metrics_can_require_a_token(guarded: httpx.AsyncClient):
    refused = await guarded.get("/metrics")
    assert refused.status_code == 401
    assert "kabinet_" not in refused.text
    for token in ("nope", "café"):
        header = f"Bearer {token}".encode()  # as a client may send it: UTF-8 bytes
        wrong = await guarded.get("/metrics", headers={"Authorization": header})
        assert wrong.status_code == 401
    samples = await scrape(guarded, Authorization="Bearer scraper-secret")
    assert any(name == "kabinet_http_requests_total" for name, _ in samples)


async def test_production_logs_are_json_with_request_ids_and_no_secrets(
    tmp_path: Path, mailbox: Mailbox, sms_gateway: SmsGateway
):
    """Every secret of the account flows goes through a production server; its log is
    then read line by line."""
    secrets: list[str] = [PASSWORD, "New-pass-2"]
    outside = {
        "env": "production",
        "trusted_documents": "allow",  # the flows' documents are the tests', not approved
        "smtp_host": "127.0.0.1",
        "smtp_port": str(mailbox.port),
        "smtp_tls": "none",
        # A gateway URL may hold credentials and a key; httpx would log it whole.
        "sms_gateway_url": sms_gateway.url.replace("http://", "http://gw-user:gw-pass@")
        + "?key=gateway-key-secret",
        "sms_gateway_token": "gateway-secret",
        "log_level": "DEBUG",
    }
    secrets += ["gateway-secret", "gw-pass", "gateway-key-secret", "Ws-pass-3"]
    async with serving(tmp_path, **outside) as http:
        api = Api(http)
        register_id = "register-request-0001"
        await api.data(
            REGISTER,
            {"input": {"email": EMAIL, "password": PASSWORD, "passwordConfirmation": PASSWORD}},
            headers={"X-Request-ID": register_id},
        )
        confirmation = link_token(await mailbox.wait_for(EMAIL))
        await http.get("/confirm-email", params={"token": confirmation})
        confirmed = await api.data(
            CONFIRM_EMAIL, {"input": {"token": confirmation, "password": PASSWORD}}
        )
        session = confirmed["confirmEmail"]["token"]
        await login(api, EMAIL, "Wrong-pass-1")
        added = await api.data(ADD_CONTACT, {"input": {"value": PHONE}}, token=session)
        (text,) = await sms_gateway.wait_for(PHONE)
        code = sms_code(text)
        await api.data(
            VERIFY_CONTACT,
            {"input": {"contactId": added["addContact"]["id"], "code": code}},
            token=session,
        )
        # Over a WebSocket too: the session at connection_init, a password in a mutation.
        url = str(http.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"token": session}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            change = {
                "input": {
                    "currentPassword": PASSWORD,
                    "password": "Ws-pass-3",
                    "passwordConfirmation": "Ws-pass-3",
                }
            }
            payload = {"query": CHANGE_PASSWORD, "variables": change}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            answer = json.loads(await ws.recv())
            assert answer["payload"]["data"]["changePassword"]["__typename"] == "Accepted"
        mailbox.messages.clear()
        await api.data(REQUEST_PASSWORD_RESET, {"input": {"email": EMAIL}})
        reset = link_token(
            await mailbox.wait_for(EMAIL, translate("email.reset.subject", Locale.UK))
        )
        await api.data(
            RESET_PASSWORD,
            {
                "input": {
                    "token": reset,
                    "password": "New-pass-2",
                    "passwordConfirmation": "New-pass-2",
                }
            },
        )
        secrets += [confirmation, session, code, reset]

        async def confirmation_logged() -> bool:
            return "outbox delivered" in (tmp_path / "server.log").read_text()

        await eventually(confirmation_logged)

    lines = (tmp_path / "server.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"time", "level", "logger", "message", "request_id"} <= set(entries[0])
    for secret in secrets:
        assert not [line for line in lines if secret in line], f"a secret reached the log: {secret}"
    # The outbox sender's line about the confirmation email carries the id of the
    # request that wrote it.
    delivered = [entry for entry in entries if "outbox delivered" in entry["message"]]
    assert register_id in {entry["request_id"] for entry in delivered}
    # The access log names the path, not the query string that held the token.
    access = [entry for entry in entries if entry["logger"] == "kabinet.access"]
    assert any(entry["message"].startswith("GET /confirm-email 200") for entry in access)
    assert all(entry["request_id"] for entry in access)


async def test_an_exception_nothing_caught_is_a_masked_500_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
):
    async def broken(_: Request) -> Response:
        raise RuntimeError("secret detail")

    app = Starlette(routes=[Route("/broken", broken)])
    app.add_middleware(ObserveMiddleware)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/broken", headers={"Accept-Language": "en"})

    request_id = response.headers["x-request-id"]
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "message": translate("error.unexpected", Locale.EN, request_id=request_id),
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            }
        ]
    }
    assert "secret detail" not in response.text
    (logged,) = [r for r in caplog.records if r.name == "kabinet.observe"]
    assert logged.exc_info is not None
    assert str(logged.exc_info[1]) == "secret detail"


def test_the_middleware_module_imports_on_its_own():
    """kabinet.observe imported first (as a tool or a test might) once met the schema
    package half-initialised: a circular import."""
    imported = subprocess.run(
        [sys.executable, "-c", "import kabinet.observe"], capture_output=True, text=True
    )
    assert imported.returncode == 0, imported.stderr
