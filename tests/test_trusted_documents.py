"""Trusted documents (issue 18 item 1): operations by id from approved manifests.

The project's manifest is graphql-codegen's own output (client preset, persisted
documents) for the API guide's documents, checked here against a fresh run; ids go over
POST, GET, a multipart upload and the WebSocket (the npm graphql-ws client)."""

import asyncio
import json
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse

from kabinet.clock import now
from kabinet.config import Environment, Settings, TrustedDocuments
from kabinet.db import Database
from kabinet.documents import UserDocument
from kabinet.schema.trusted import GUIDE_MANIFEST, ManifestError, digest, load_manifest
from tests.conftest import served
from tests.policies import staff_token
from tests.requests_support import PDF, VALID_IBAN, callback, customer, multipart
from tests.subscriptions import next_message, subscribed
from tests.support import Api, Mailbox, free_port
from tests.test_api_guide import operations
from tests.test_cli import run_cli
from tests.test_event_streams import PATH, STREAM, bearer, streamed

PREFLIGHT = {"GraphQL-Require-Preflight": "1"}
UNKNOWN = "sha256:" + "0" * 64


def manifest() -> dict[str, str]:
    return json.loads(GUIDE_MANIFEST.read_text(encoding="utf-8"))


def name_of(document: str) -> str:
    (operation,) = parse(document).definitions
    assert isinstance(operation, OperationDefinitionNode)
    assert operation.name
    return operation.name.value


def document_id(name: str) -> str:
    """The id codegen gave the guide's operation ``name``."""
    (found,) = [key for key, document in manifest().items() if name_of(document) == name]
    return found


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    """A request refused before it ran: its status, `extensions.code` and message."""
    (error,) = response.json()["errors"]
    assert "data" not in response.json()
    return response.status_code, error["extensions"]["code"], error["message"]


async def by_id(
    api: Api, name: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"documentId": document_id(name), "variables": variables or {}}
    return await api.http.post("/graphql", json=body, headers=headers)


async def serving(settings: Settings, database: Database, **update: Any) -> AsyncIterator[Api]:
    async with (
        served(settings.model_copy(update=update), database) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield Api(http)


@pytest.fixture
async def required(settings: Settings, database: Database) -> AsyncIterator[Api]:
    """A server that runs only documents by id, beside the `api` one (which allows both:
    the tests set up their accounts through it)."""
    async for api in serving(settings, database, trusted_documents=TrustedDocuments.REQUIRE):
        yield api


async def test_the_manifest_is_graphql_codegens_output_for_the_guide(project_root: Path):
    guide = project_root / "docs" / "guide-ts"
    codegen = await asyncio.create_subprocess_exec(
        project_root / "web" / "node_modules" / ".bin" / "graphql-codegen",
        "--config",
        "codegen.json",
        cwd=guide,
        env={**os.environ, "NODE_PATH": str(project_root / "web" / "node_modules")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(codegen.communicate(), 120)
    assert codegen.returncode == 0, output.decode()
    generated = json.loads((guide / "gql" / "persisted-documents.json").read_text())
    assert generated == manifest(), "the guide changed: run `make trusted-documents`"
    assert sorted(map(name_of, generated.values())) == sorted(operations())
    assert all(key == f"sha256:{digest(document)}" for key, document in generated.items())


async def test_required_ids_run_over_post_get_apollos_extension_and_an_upload(
    api: Api, required: Api, mailbox: Mailbox
):
    policy = await by_id(required, "PasswordPolicy")
    assert policy.json()["data"]["passwordPolicy"]["minLength"] == 8
    params = {"documentId": document_id("PasswordPolicy")}
    got = await required.http.get("/graphql", params=params, headers=PREFLIGHT)
    assert got.json()["data"]["passwordPolicy"]["minLength"] == 8
    bare_hash = document_id("PasswordPolicy").removeprefix("sha256:")
    apollo = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": bare_hash}}}
    answer = await required.http.post("/graphql", json=apollo)
    assert answer.json()["data"]["passwordPolicy"]["minLength"] == 8
    # A mutation stays a POST: over GET it is 405, by id too.
    params = {"documentId": document_id("Login"), "variables": "{}"}
    assert (
        await required.http.get("/graphql", params=params, headers=PREFLIGHT)
    ).status_code == 405

    token = await customer(api, mailbox)
    me = await by_id(required, "Me", token=token)
    assert me.json()["data"]["me"]["email"] == "olena@example.com"
    claim = {
        "amount": "99.90",
        "serviceDate": (now().date() - timedelta(days=1)).isoformat(),
        "description": "Аналізи",
        "iban": VALID_IBAN,
        "documents": [None],
    }
    upload = await multipart(
        required,
        token,
        {"documentId": document_id("CreateRequest")},
        {"input": {"reimbursement": claim}},
        {"variables.input.reimbursement.documents.0": ("receipt.pdf", PDF)},
    )
    created = upload.json()["data"]["createRequest"]
    assert (created["__typename"], created["kind"]) == ("Request", "REIMBURSEMENT")


async def test_unknown_ids_altered_documents_and_full_documents_are_typed_refusals(
    api: Api, required: Api
):
    for server in (api, required):
        unknown = await server.http.post("/graphql", json={"documentId": UNKNOWN})
        assert refusal(unknown)[:2] == (400, "PERSISTED_QUERY_NOT_FOUND")
        params = {"documentId": UNKNOWN}
        unknown = await server.http.get("/graphql", params=params, headers=PREFLIGHT)
        assert refusal(unknown)[:2] == (400, "PERSISTED_QUERY_NOT_FOUND")
        not_an_id = await server.http.post("/graphql", json={"documentId": 7})
        assert refusal(not_an_id)[:2] == (400, "PERSISTED_QUERY_NOT_FOUND")
        altered = {
            "documentId": document_id("PasswordPolicy"),
            "query": "query PasswordPolicy { passwordPolicy { minLength } }",
        }
        answer = await server.http.post("/graphql", json=altered)
        assert refusal(answer)[:2] == (400, "PERSISTED_QUERY_HASH_MISMATCH")

    register = manifest()[document_id("Register")]
    variables = {
        "input": {
            "email": "ivan@example.com",
            "password": "Correct-horse-1",
            "passwordConfirmation": "Correct-horse-1",
        }
    }
    body = {"query": register, "variables": variables}
    refused = await required.http.post("/graphql", json=body)
    status, code, message = refusal(refused)
    assert (status, code) == (400, "PERSISTED_QUERY_REQUIRED")
    assert "затверджені документи" in message
    english = await required.http.post("/graphql", json=body, headers={"Accept-Language": "en"})
    assert "only approved documents" in refusal(english)[2]
    assert await UserDocument.find_one({"email": "ivan@example.com"}) is None


async def test_staff_may_send_documents_only_while_graphiql_is_on(
    settings: Settings, database: Database, api: Api, required: Api, mailbox: Mailbox
):
    operator = await staff_token(api, "operator@example.com", "operator")
    member = await customer(api, mailbox)
    queue = "{ requestQueue(first: 1) { totalCount } }"
    assert (await required.data(queue, token=operator))["requestQueue"]["totalCount"] == 0
    refused = await required.http.post(
        "/graphql",
        json={"query": "{ me { email } }"},
        headers={"Authorization": f"Bearer {member}"},
    )
    assert refusal(refused)[:2] == (400, "PERSISTED_QUERY_REQUIRED")
    async for closed in serving(
        settings, database, trusted_documents=TrustedDocuments.REQUIRE, graphiql=False
    ):
        refused = await closed.http.post(
            "/graphql", json={"query": queue}, headers={"Authorization": f"Bearer {operator}"}
        )
        assert refusal(refused)[:2] == (400, "PERSISTED_QUERY_REQUIRED")


async def test_allow_runs_ids_and_documents_and_off_takes_no_ids(
    settings: Settings, database: Database, api: Api
):
    assert (await by_id(api, "PasswordPolicy")).json()["data"]["passwordPolicy"]["minLength"]
    assert (await api.data("{ passwordPolicy { minLength } }"))["passwordPolicy"]
    # An automatic persisted query's retry: a document no manifest has, with its hash.
    document = "query Own { passwordPolicy { maxLength } }"
    apollo = {"persistedQuery": {"version": 1, "sha256Hash": digest(document)}}
    retried = await api.http.post("/graphql", json={"query": document, "extensions": apollo})
    assert retried.json() == {"data": {"passwordPolicy": {"maxLength": 128}}}
    alone = await api.http.post("/graphql", json={"extensions": apollo})
    assert refusal(alone)[:2] == (400, "PERSISTED_QUERY_NOT_FOUND")

    async for off in serving(settings, database, trusted_documents=TrustedDocuments.OFF):
        assert refusal(await by_id(off, "PasswordPolicy"))[:2] == (
            400,
            "PERSISTED_QUERY_NOT_SUPPORTED",
        )
        assert (await off.data(document))["passwordPolicy"]["maxLength"] == 128


def test_production_requires_ids_unless_told_otherwise():
    def mode(**values: Any) -> TrustedDocuments:
        return Settings(_env_file=None, **values).trusted_documents_mode  # type: ignore[arg-type]

    assert mode(env=Environment.PRODUCTION) is TrustedDocuments.REQUIRE
    assert mode(env=Environment.DEVELOPMENT) is TrustedDocuments.ALLOW
    assert mode(env=Environment.PRODUCTION, trusted_documents="allow") is TrustedDocuments.ALLOW


async def node_subscription(project_root: Path, url: str, token: str, payload: dict) -> Any:
    """The npm graphql-ws client's first answer to ``payload`` (tests/node/subscribe.cjs):
    (exit code, what it printed)."""
    node = await asyncio.create_subprocess_exec(
        "node",
        str(project_root / "tests" / "node" / "subscribe.cjs"),
        url.replace("http://", "ws://") + "/graphql",
        token,
        payload.pop("query", ""),
        json.dumps(payload),
        env={**os.environ, "NODE_PATH": str(project_root / "web" / "node_modules")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await asyncio.wait_for(node.communicate(), 30)
    return node.returncode, json.loads(output or errors.splitlines()[-1])


async def test_ids_over_the_websocket_with_the_npm_graphql_ws_client(
    api: Api, required: Api, mailbox: Mailbox, project_root: Path
):
    token = await customer(api, mailbox)
    request = await callback(api, token)
    url = str(required.http.base_url).rstrip("/")
    since = (now() - timedelta(minutes=1)).isoformat()  # replays the request's filing
    variables = {"requestId": request["id"], "since": since}
    payload = {"documentId": document_id("RequestUpdated"), "variables": variables}
    code, answer = await node_subscription(project_root, url, token, payload)
    assert code == 0, answer
    event = answer["data"]["requestUpdated"]
    assert (event["previousStatus"], event["request"]["number"]) == (None, request["number"])

    code, errors = await node_subscription(project_root, url, token, {"documentId": UNKNOWN})
    assert (code, [e["extensions"]["code"] for e in errors]) == (1, ["PERSISTED_QUERY_NOT_FOUND"])
    document = {"query": manifest()[document_id("RequestUpdated")], "variables": variables}
    code, errors = await node_subscription(project_root, url, token, document)
    assert (code, [e["extensions"]["code"] for e in errors]) == (1, ["PERSISTED_QUERY_REQUIRED"])


async def test_the_older_websocket_protocol_keeps_the_rule(
    api: Api, required: Api, mailbox: Mailbox
):
    token = await customer(api, mailbox)
    url = str(required.http.base_url).rstrip("/")
    document = manifest()[document_id("RequestUpdated")]
    async with subscribed(url, token, document, refused=True, protocol="graphql-ws") as ws:
        message = await next_message(ws)
    assert (message["type"], message["payload"]["extensions"]["code"]) == (
        "error",
        "PERSISTED_QUERY_REQUIRED",
    )


async def test_a_manifest_that_does_not_parse_stops_the_server(tmp_path: Path):
    broken = tmp_path / "app-documents.json"
    broken.write_text('{\n  "sha256:00": "query A { a }",\n  "sha256:01" "query B { b }"\n}\n')
    code, output = await asyncio.wait_for(
        run_cli(
            "serve",
            trusted_documents_manifests=str(broken),
            data_dir=str(tmp_path),
            port=str(free_port()),
        ),
        60,
    )
    assert code != 0
    assert f"{broken}, line 3: not JSON" in output


@pytest.mark.parametrize(
    ("key", "document", "problem"),
    [
        ("sha256:" + "0" * 64, "query A { a }", "is not the SHA-256 of its document"),
        ("sha256:" + digest("query A { a }"), 7, "is not a string"),
        ("sha256:" + digest("query A {"), "query A {", "the document does not parse"),
    ],
)
def test_a_manifest_entry_that_cannot_be_trusted_is_named_by_its_line(
    tmp_path: Path, key: str, document: object, problem: str
):
    good = "query B { b }"
    path = tmp_path / "manifest.json"
    lines = [f'"sha256:{digest(good)}": "{good}",', f"{json.dumps(key)}: {json.dumps(document)}"]
    path.write_text("{\n  " + "\n  ".join(lines) + "\n}\n")
    with pytest.raises(ManifestError, match=f"manifest.json, line 3: .*{problem}"):
        load_manifest(path)


async def test_ids_over_server_sent_events_and_full_documents_refused(
    api: Api, required: Api, mailbox: Mailbox
):
    token = await customer(api, mailbox)
    request = await callback(api, token)
    since = (now() - timedelta(minutes=1)).isoformat()  # replays the request's filing
    variables = {"requestId": request["id"], "since": since}
    headers = {**STREAM, **bearer(token)}
    http = required.http

    by_id = {"documentId": document_id("RequestUpdated"), "variables": variables}
    async with streamed(http, "POST", headers, json=by_id) as events:
        event, data = await events.next()
    full = await http.post(
        PATH, headers=headers, json={"query": manifest()[document_id("RequestUpdated")]}
    )
    unknown = await http.post(PATH, headers=headers, json={"documentId": UNKNOWN})

    assert event == "next"
    assert data is not None
    assert data["data"]["requestUpdated"]["request"]["number"] == request["number"]
    assert refusal(full)[:2] == (400, "PERSISTED_QUERY_REQUIRED")
    assert refusal(unknown)[:2] == (400, "PERSISTED_QUERY_NOT_FOUND")
