"""docs/api-guide.md works as written.

Every ```graphql block validates against the schema; the flow runs against the live
server with the guide's own documents and JSON variables; the curl upload runs
as printed; the JavaScript snippets run under Node with the npm graphql-ws client.
The guide's API address, https://kabinet.example.com, is replaced by the test
server's.
"""

import asyncio
import base64
import json
import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from graphql import OperationDefinitionNode, parse, validate

from kabinet.clock import now
from kabinet.documents import PolicyDocument
from kabinet.schema import build_schema
from tests.policies import PHONE, card, staff_token
from tests.requests_support import PDF, PNG, VALID_IBAN, customer
from tests.support import Api, Mailbox, SmsGateway, link_token, sms_code
from tests.test_live_status import next_message, subscribed

GUIDE = Path(__file__).parent.parent / "docs" / "api-guide.md"
EXAMPLE_ORIGIN = "https://kabinet.example.com"


def blocks(language: str) -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.M | re.S)


def operations() -> dict[str, str]:
    """The guide's GraphQL documents by operation name."""
    named = {}
    for block in blocks("graphql"):
        (operation,) = parse(block).definitions
        assert isinstance(operation, OperationDefinitionNode)
        assert operation.name, block
        assert operation.name.value not in named, operation.name.value
        named[operation.name.value] = block
    return named


def example(key: str) -> dict[str, Any]:
    """The guide's first JSON variables that contain ``key``."""
    return next(json.loads(block) for block in blocks("json") if f'"{key}"' in block)


def test_every_graphql_block_is_valid_against_the_schema():
    schema = build_schema()._schema
    documents = operations()
    for name, document in documents.items():
        assert validate(schema, parse(document)) == [], name
    for flow in (
        "Register",
        "ConfirmEmail",
        "Login",
        "UpdateProfile",
        "AddContact",
        "VerifyContact",
        "MyCards",
        "CreateRequest",
        "MyRequests",
        "RequestUpdated",
    ):
        assert flow in documents


ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
RFC_3339_OFFSET = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


def times_without_offset(answer: Any) -> list[str]:
    """Every date-time string in an answer that a JavaScript `Date` would read as local time."""
    if isinstance(answer, dict):
        return [found for value in answer.values() for found in times_without_offset(value)]
    if isinstance(answer, list):
        return [found for value in answer for found in times_without_offset(value)]
    if (
        isinstance(answer, str)
        and ISO_DATE_TIME.match(answer)
        and not RFC_3339_OFFSET.search(answer)
    ):
        return [answer]
    return []


def test_every_json_example_is_json():
    assert all(json.loads(block) for block in blocks("json"))


async def test_the_flow_from_registration_to_live_status(
    api: Api, server: str, mailbox: Mailbox, sms_gateway: SmsGateway
):
    ops = operations()
    answers: list[Any] = []

    async def run(name: str, variables: dict | None = None, **kwargs: Any) -> Any:
        answers.append(await api.data(ops[name], variables, **kwargs))
        return answers[-1]

    policy = (await run("PasswordPolicy"))["passwordPolicy"]
    assert (policy["minLength"], policy["requiresDigit"]) == (8, True)

    registration = example("passwordConfirmation")
    email = registration["input"]["email"]
    assert (await run("Register", registration))["register"]["__typename"] == "RegisterSuccess"
    token = link_token(await mailbox.wait_for(email))
    password = registration["input"]["password"]
    confirmed = await run("ConfirmEmail", {"input": {"token": token, "password": password}})
    assert confirmed["confirmEmail"]["user"]["emailConfirmed"] is True
    signed_in = await run("Login", {"input": {"email": email, "password": password}})
    token = signed_in["login"]["token"]
    assert (await run("Me", token=token))["me"]["email"] == email
    assert (await run("Me"))["me"] is None

    profile = await run("UpdateProfile", example("birthDate"), token=token)
    assert profile["updateProfile"]["profile"]["complete"] is True
    refused = await run("UpdateProfile", {"input": {"birthDate": "2999-01-01"}}, token=token)
    assert refused["updateProfile"]["__typename"] == "InputError"
    assert [(f["field"], f["code"]) for f in refused["updateProfile"]["fields"]] == [
        ("birthDate", "BIRTH_DATE_IN_FUTURE")
    ]

    await card("UA-1", PHONE)
    added = (await run("AddContact", {"input": {"value": "067 123 45 67"}}, token=token))[
        "addContact"
    ]
    assert (added["value"], added["verified"]) == (PHONE, False)
    code = sms_code((await sms_gateway.wait_for(PHONE))[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    attempt = {"input": {"contactId": added["id"], "code": wrong}}
    invalid = (await run("VerifyContact", attempt, token=token))["verifyContact"]
    assert (invalid["__typename"], invalid["code"], invalid["attemptsLeft"]) == (
        "InvalidCode",
        "INVALID_CODE",
        4,
    )
    verified = await run(
        "VerifyContact", {"input": {"contactId": added["id"], "code": code}}, token=token
    )
    linked = verified["verifyContact"]["linkedPolicies"]
    assert [policy["number"] for policy in linked] == ["UA-1"]

    cards = (await run("MyCards", token=token))["me"]
    assert cards["policyLookup"]["status"] == "FOUND"
    selected = await run("SelectPolicy", {"input": {"policyId": linked[0]["id"]}}, token=token)
    assert selected["selectPolicy"]["activePolicy"]["number"] == "UA-1"

    before = now() - timedelta(milliseconds=1)
    callback = example("idempotencyKey")
    first = (await run("CreateRequest", callback, token=token))["createRequest"]
    again = (await run("CreateRequest", callback, token=token))["createRequest"]
    assert (first["kind"], first["status"], again["id"]) == ("CALLBACK", "SUBMITTED", first["id"])
    other = {**callback, "idempotencyKey": "another-key"}
    second = (await run("CreateRequest", other, token=token))["createRequest"]

    page = (await run("MyRequests", {"first": 1}, token=token))["me"]["requests"]
    assert page["totalCount"] == 2
    assert page["pageInfo"]["hasNextPage"] is True
    after = {"first": 1, "after": page["pageInfo"]["endCursor"]}
    rest = (await run("MyRequests", after, token=token))["me"]["requests"]
    assert rest["pageInfo"]["hasNextPage"] is False
    newest_first = [p["edges"][0]["node"]["id"] for p in (page, rest)]
    assert newest_first == [second["id"], first["id"]]
    filtered = (await run("MyRequests", example("statuses"), token=token))["me"]["requests"]
    assert filtered["totalCount"] == 2

    details = (await run("RequestDetails", {"id": first["id"]}, token=token))["node"]
    assert details["details"] == {
        "__typename": "CallbackDetails",
        "phone": PHONE,
        "topic": callback["input"]["callback"]["topic"],
        "preferredTime": None,
    }

    operator = await staff_token(api, "operator@example.com", "operator")
    watch = {"requestId": first["id"], "since": before.isoformat()}
    async with subscribed(server, token, ops["RequestUpdated"], watch) as ws:
        replayed = (await next_message(ws))["payload"]["data"]["requestUpdated"]
        assert (replayed["previousStatus"], replayed["request"]["number"]) == (
            None,
            first["number"],
        )
        change = {"input": {"requestId": first["id"], "status": "IN_PROGRESS"}}
        changed = await run("ChangeRequestStatus", change, token=operator)
        assert changed["changeRequestStatus"]["status"] == "IN_PROGRESS"
        live = (await next_message(ws))["payload"]["data"]["requestUpdated"]
        assert (live["previousStatus"], live["request"]["status"]) == ("SUBMITTED", "IN_PROGRESS")
        answers += [replayed, live]

    cancelled = await run("CancelRequest", {"input": {"requestId": second["id"]}}, token=token)
    assert cancelled["cancelRequest"]["status"] == "CANCELLED"
    queue = await run("RequestQueue", {"first": 10}, token=operator)
    assert queue["requestQueue"]["totalCount"] == 2
    # Every time the guide's documents and a live event return carries its offset.
    assert sum(len(re.findall(r"\d{4}-\d{2}-\d{2}T", json.dumps(a))) for a in answers) > 10
    assert times_without_offset(answers) == []


async def test_the_documented_errors_and_headers(api: Api, mailbox: Mailbox):
    ops = operations()
    anonymous = await api.post(
        ops["UpdateProfile"], {"input": {}}, headers={"Accept-Language": "en"}
    )
    (error,) = anonymous["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == "Please sign in to continue."

    token = await customer(api, mailbox)
    forbidden = await api.post(ops["RequestQueue"], {"first": 10}, token=token)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    response = await api.http.post(
        "/graphql",
        json={"query": ops["PasswordPolicy"]},
        headers={"X-Request-ID": "frontend-0001"},
    )
    assert response.headers["X-Request-ID"] == "frontend-0001"


async def test_the_curl_upload(api: Api, server: str, mailbox: Mailbox, tmp_path: Path):
    (command,) = [block for block in blocks("sh") if "-F operations=" in block]
    token = await customer(api, mailbox)
    # The example's service date must lie within the card's validity.
    found = re.search(r'"serviceDate": "([\d-]+)"', command)
    assert found
    service_date = date.fromisoformat(found.group(1))
    policy = await PolicyDocument.find_one({"phones": PHONE})
    assert policy is not None
    await policy.set({"valid_from": min(policy.valid_from, service_date)})
    for name in re.findall(r"-F \d+=@(\S+)", command):
        (tmp_path / name).write_bytes(PDF if name.endswith(".pdf") else PNG)

    process = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        command.replace(EXAMPLE_ORIGIN, server),
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await process.communicate()
    assert process.returncode == 0, errors.decode()
    created = json.loads(output)["data"]["createRequest"]
    assert created["__typename"] == "Request"
    assert created["status"] == "SUBMITTED"
    assert [(a["filename"], a["contentType"]) for a in created["attachments"]] == [
        ("receipt.pdf", "application/pdf"),
        ("prescription.png", "image/png"),
    ]


NODE_DRIVER = """
import WebSocket from "ws";
globalThis.WebSocket = WebSocket; // a browser has it; Node 20 does not by default
const { graphql } = await import("./api.js");
const { saveProfile } = await import("./errors.js");
const { fileReimbursement } = await import("./upload.js");
const { watchRequests } = await import("./live.js");
const { watchRequestsOverSse } = await import("./live-sse.js");

const [token, fields] = [process.env.TOKEN, JSON.parse(process.env.FIELDS)];
const files = [new File([Buffer.from(process.env.PDF, "base64")], "receipt.pdf")];
const created = await fileReimbursement(token, fields, files);
const refused = await saveProfile(token, { birthDate: "2999-01-01" });
const me = await graphql("{ me { email } }", {}, { token });
const since = new Date(Date.now() - 60000).toISOString(); // replays the request's filing
const event = await new Promise((resolve) => {
  const stop = watchRequests(token, {
    requestId: created.id,
    since,
    onEvent: (event) => { stop(); resolve(event); },
  });
});
const sseEvent = await new Promise((resolve) => {
  const stop = watchRequestsOverSse(token, {
    requestId: created.id,
    since,
    onEvent: (event) => { stop(); resolve(event); },
  });
});
console.log(JSON.stringify({ created, refused, me, event, sseEvent }));
process.exit(0);
"""


async def test_the_javascript_snippets_under_node(
    api: Api, server: str, mailbox: Mailbox, tmp_path: Path, project_root: Path
):
    snippets = blocks("js")
    modules = {
        "api.js": "export const endpoint",
        "errors.js": "saveProfile",
        "upload.js": "fileReimbursement",
        "live.js": "export function watchRequests(",
        "live-sse.js": "watchRequestsOverSse",
    }
    server_ws = server.replace("http://", "ws://")
    for module, marker in modules.items():
        (source,) = [snippet for snippet in snippets if marker in snippet]
        source = source.replace(f"wss://{EXAMPLE_ORIGIN[8:]}", server_ws)
        (tmp_path / module).write_text(source.replace(EXAMPLE_ORIGIN, server))
    (tmp_path / "package.json").write_text('{"type": "module"}')
    (tmp_path / "node_modules").symlink_to(project_root / "web" / "node_modules")
    (tmp_path / "driver.js").write_text(NODE_DRIVER)

    token = await customer(api, mailbox)
    fields = {
        "amount": "99.90",
        "serviceDate": (now().date() - timedelta(days=1)).isoformat(),
        "description": "Аналізи",
        "iban": VALID_IBAN,
    }
    process = await asyncio.create_subprocess_exec(
        "node",
        "driver.js",
        cwd=tmp_path,
        env={
            "PATH": os.environ["PATH"],
            "TOKEN": token,
            "FIELDS": json.dumps(fields),
            "PDF": base64.b64encode(PDF).decode(),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, errors.decode()
    result = json.loads(output)
    assert result["created"]["__typename"] == "Request"
    assert result["created"]["attachments"] == [
        {"filename": "receipt.pdf", "contentType": "application/pdf", "size": len(PDF)}
    ]
    assert result["refused"]["fieldErrors"]["birthDate"]["code"] == "BIRTH_DATE_IN_FUTURE"
    assert result["refused"]["fieldErrors"].keys() == {"birthDate"}
    assert result["me"] == {"me": {"email": "olena@example.com"}}
    assert result["event"]["request"]["number"] == result["created"]["number"]
    assert result["event"]["previousStatus"] is None
    assert result["sseEvent"] == result["event"]
