"""The HTTP layer's defences: CSRF, media types, batching, CORS, headers, body limits."""

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from kabinet.app import create_app
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.i18n import Locale, translate
from kabinet.resolvers.files import MAX_FILE_BYTES, MAX_FILES
from tests.conftest import serve_on_loopback
from tests.support import Api

QUERY = "{ passwordPolicy { minLength } }"
PREFLIGHT = {"GraphQL-Require-Preflight": "1"}
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


# ---- CSRF: a GET is as simple a request as a form post


async def test_a_get_query_without_the_preflight_header_is_refused(api: Api):
    response = await api.http.get("/graphql", params={"query": QUERY})

    assert response.status_code == 400
    assert "GraphQL-Require-Preflight" in response.json()["errors"][0]["message"]
    assert "data" not in response.json()


@pytest.mark.parametrize("language", ["uk", "en"])
async def test_developer_refusals_name_the_header_and_the_spec_in_either_language(
    api: Api, language: str
):
    headers = {"Accept-Language": language}
    csrf = await api.http.get("/graphql", params={"query": QUERY}, headers=headers)
    batch = await api.http.post("/graphql", json=[{"query": QUERY}], headers=headers)
    for response, key in ((csrf, "http.csrf"), (batch, "http.batch")):
        (error,) = response.json()["errors"]
        assert error["message"] == translate(key, Locale(language))
        assert "GraphQL over HTTP" in error["message"]
    assert "GraphQL-Require-Preflight" in csrf.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "proof", [PREFLIGHT, {"X-Apollo-Operation-Name": "Policy"}], ids=["preflight", "apollo"]
)
async def test_a_get_query_with_a_csrf_proof_header_runs(api: Api, proof: dict[str, str]):
    response = await api.http.get("/graphql", params={"query": QUERY}, headers=proof)

    assert response.status_code == 200
    assert response.json() == {"data": {"passwordPolicy": {"minLength": 8}}}


async def test_an_empty_preflight_header_proves_nothing(api: Api):
    response = await api.http.get(
        "/graphql", params={"query": QUERY}, headers={"GraphQL-Require-Preflight": ""}
    )
    assert response.status_code == 400


async def test_a_text_plain_post_is_refused_without_the_header(api: Api):
    body = json.dumps({"query": QUERY})
    plain = {"Content-Type": "text/plain"}

    refused = await api.http.post("/graphql", content=body, headers=plain)
    proved = await api.http.post("/graphql", content=body, headers={**plain, **PREFLIGHT})

    assert refused.status_code == 400
    assert "GraphQL-Require-Preflight" in refused.text
    assert proved.status_code == 400  # proved, then refused as an unsupported content type
    assert "content type" in proved.text.lower()


async def test_the_graphiql_page_needs_no_header(api: Api):
    page = await api.http.get("/graphql", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


# ---- GraphQL over HTTP media types


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON}", "application/json"),
        (f"{GRAPHQL_RESPONSE_JSON};q=0.5, application/json", "application/json"),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"*/*, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        ("text/html", "application/json"),
    ],
)
async def test_the_response_media_type_follows_accept(
    api: Api, accept: str | None, media_type: str
):
    headers = {"Accept": accept} if accept else {}
    response = await api.http.post("/graphql", json={"query": QUERY}, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert response.json() == {"data": {"passwordPolicy": {"minLength": 8}}}


@pytest.mark.parametrize(
    ("accept", "status"), [("application/json", 200), (GRAPHQL_RESPONSE_JSON, 400)]
)
async def test_a_document_that_does_not_validate_is_a_request_error(
    api: Api, accept: str, status: int
):
    response = await api.http.post(
        "/graphql", json={"query": "{ noSuchField }"}, headers={"Accept": accept}
    )

    assert response.status_code == status
    body = response.json()
    assert "data" not in body
    assert "noSuchField" in body["errors"][0]["message"]


async def test_a_field_error_is_no_request_error_with_graphql_response_json(api: Api):
    """Execution ran: `data` stays in the response (here null, the non-null root field
    failed) and the status is 200, so a client tells it from a refused request."""
    response = await api.http.post(
        "/graphql",
        json={"query": "{ requestQueue { totalCount } }"},
        headers={"Accept": GRAPHQL_RESPONSE_JSON},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_request_refused_before_execution_answers_in_the_accepted_type(api: Api):
    response = await api.http.post(
        "/graphql",
        content=b"{not json",
        headers={"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE_JSON},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    assert response.json()["errors"][0]["message"]


# ---- batching is off


async def test_a_batched_request_is_refused(api: Api):
    batch = [{"query": QUERY}, {"query": "{ passwordPolicy { maxLength } }"}]

    response = await api.http.post("/graphql", json=batch)
    english = await api.http.post("/graphql", json=batch, headers={"Accept-Language": "en"})

    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": translate("http.batch", Locale.UK)}]}
    assert english.json()["errors"][0]["message"] == translate("http.batch", Locale.EN)


@pytest.mark.parametrize("body", ["1", "null", '"x"', "true"])
async def test_json_that_is_no_request_is_a_client_error(api: Api, body: str):
    response = await api.http.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": translate("http.not_graphql", Locale.UK)}]}
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("operations", "files_map"),
    [
        ('{"query": "{ __typename }"}', "[]"),
        ('{"query": "{ __typename }"}', "null"),
        ('{"query": "{ __typename }"}', '{"0": [5]}'),
        ('"just a string"', "{}"),
        ('{"query": "{ __typename }", "variables": null}', '{"0": ["variables.file"]}'),
    ],
)
async def test_a_malformed_multipart_form_is_a_client_error(
    api: Api, operations: str, files_map: str
):
    response = await api.http.post(
        "/graphql",
        data={"operations": operations, "map": files_map},
        files={"0": ("a.pdf", b"%PDF-1.7", "application/pdf")},
        headers=PREFLIGHT,
    )
    assert response.status_code == 400, response.text
    assert "errors" in response.json()


# ---- CORS for the allowed origins


async def test_cors_preflight_from_an_allowed_origin(api: Api):
    response = await api.http.options(
        "/graphql",
        headers={
            "Origin": "http://cabinet.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": (
                "authorization, content-type, graphql-require-preflight, x-request-id"
            ),
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://cabinet.test"
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "content-type", "graphql-require-preflight", "x-request-id"} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_cors_preflight_from_another_origin_is_refused(api: Api):
    response = await api.http.options(
        "/graphql",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_an_allowed_origin_may_read_the_request_id(api: Api):
    response = await api.http.post(
        "/graphql", json={"query": QUERY}, headers={"Origin": "http://cabinet.test"}
    )

    assert response.headers["access-control-allow-origin"] == "http://cabinet.test"
    assert response.headers["access-control-expose-headers"].lower() == "x-request-id"


@pytest.mark.parametrize(
    ("configured", "origins"),
    [
        ({"public_url": "https://cabinet.example/app/"}, ["https://cabinet.example"]),
        (
            {"allowed_origins": "https://a.example, https://b.example/"},
            ["https://a.example", "https://b.example"],
        ),
    ],
)
def test_allowed_origins_default_to_the_public_urls_origin(
    configured: dict[str, str], origins: list[str]
):
    assert Settings(_env_file=None, **configured).origins == origins


# ---- security headers on every response


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/graphql", {"Accept": "text/html"}),
        ("POST", "/graphql", {}),
        ("GET", "/confirm-email?token=x", {}),
        ("GET", "/static/graphiql.js", {}),
        ("GET", "/healthz", {}),
        ("GET", "/nowhere", {}),
        ("GET", "/graphql", {"Accept": "application/json"}),  # refused (CSRF): headers too
    ],
)
async def test_every_response_carries_the_security_headers(
    api: Api, method: str, path: str, headers: dict[str, str]
):
    body = {"json": {"query": QUERY}} if method == "POST" else {}
    response = await api.http.request(method, path, headers=headers, **body)

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in response.headers["permissions-policy"]
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "strict-transport-security" not in response.headers  # served over http


@pytest.fixture
async def https_server(settings: Settings, database: Database) -> AsyncIterator[str]:
    """The app whose public URL is https, under uvicorn on loopback."""
    https = settings.model_copy(update={"public_url": "https://cabinet.test"})
    instance, task, port = await serve_on_loopback(create_app(https, database=database))
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    await task


async def test_hsts_only_when_the_public_url_is_https(https_server: str):
    async with httpx.AsyncClient(base_url=https_server) as http:
        response = await http.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000"


# ---- request body size limits


def json_body(size: int) -> bytes:
    """A valid GraphQL JSON body of exactly ``size`` bytes (padded with JSON whitespace)."""
    body = json.dumps({"query": QUERY}).encode()
    return body + b" " * (size - len(body))


async def post_json(api: Api, content: bytes | AsyncIterator[bytes]) -> httpx.Response:
    return await api.http.post(
        "/graphql", content=content, headers={"Content-Type": "application/json"}
    )


async def chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """The body streamed without a Content-Length (chunked transfer encoding)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_json_body_at_the_limit_runs(api: Api, settings: Settings):
    response = await post_json(api, json_body(settings.max_body_bytes))

    assert response.status_code == 200
    assert response.json()["data"]["passwordPolicy"] == {"minLength": 8}


async def test_a_json_body_over_the_limit_is_refused(api: Api, settings: Settings):
    response = await post_json(api, json_body(settings.max_body_bytes + 1))

    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == translate(
        "http.body_too_large", Locale.UK, limit=settings.max_body_bytes
    )


async def test_a_streamed_body_is_counted_without_a_content_length(api: Api, settings: Settings):
    at_limit = await post_json(api, chunks(json_body(settings.max_body_bytes)))
    over = await post_json(api, chunks(json_body(settings.max_body_bytes + 1)))

    assert at_limit.status_code == 200
    assert at_limit.json()["data"]["passwordPolicy"] == {"minLength": 8}
    assert over.status_code == 413
    assert over.request.headers.get("content-length") is None


def upload_body(size: int, boundary: str = "kabinet-boundary") -> bytes:
    """A GraphQL multipart request of exactly ``size`` bytes: a query and one file part
    that no variable maps (so the bytes travel and are parsed but nothing is stored)."""
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="operations"\r\n\r\n'
        f"{json.dumps({'query': QUERY})}\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="map"\r\n\r\n{}\r\n'
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="0"; filename="scan.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + b"%PDF" + b"0" * (size - len(head) - len(tail) - 4) + tail


async def post_upload(api: Api, body: bytes) -> httpx.Response:
    return await api.http.post(
        "/graphql",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=kabinet-boundary", **PREFLIGHT},
    )


def upload_limit(settings: Settings) -> int:
    return MAX_FILES * MAX_FILE_BYTES + settings.max_body_bytes


async def test_an_upload_at_the_limit_is_read(api: Api, settings: Settings):
    response = await post_upload(api, upload_body(upload_limit(settings)))

    assert response.status_code == 200
    assert response.json() == {"data": {"passwordPolicy": {"minLength": 8}}}


async def test_an_upload_over_the_limit_is_refused(api: Api, settings: Settings):
    response = await post_upload(api, upload_body(upload_limit(settings) + 1))

    assert response.status_code == 413
    message = response.json()["errors"][0]["message"]
    assert message == translate(
        "http.upload_too_large",
        Locale.UK,
        files=MAX_FILES,
        megabytes=MAX_FILE_BYTES // (1024 * 1024),
        limit=upload_limit(settings),
    )


# ---- a subscription over HTTP


@pytest.mark.parametrize(
    ("method", "accept"),
    [
        ("POST", GRAPHQL_RESPONSE_JSON),
        ("GET", GRAPHQL_RESPONSE_JSON),
        # Multipart subscriptions over HTTP are not served either.
        ("POST", f"multipart/mixed;subscriptionSpec=1.0, {GRAPHQL_RESPONSE_JSON}"),
    ],
)
async def test_a_subscription_over_http_is_told_to_use_the_websocket(
    api: Api, method: str, accept: str, caplog: pytest.LogCaptureFixture
):
    subscription = "subscription { requestUpdated { at } }"
    headers = {**PREFLIGHT, "Accept-Language": "en", "Accept": accept}
    with caplog.at_level(logging.ERROR):
        if method == "POST":
            response = await api.http.post(
                "/graphql", json={"query": subscription}, headers=headers
            )
        else:
            response = await api.http.get(
                "/graphql", params={"query": subscription}, headers=headers
            )

    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": translate("http.subscription", Locale.EN)}]}
    assert caplog.records == []  # not an unexpected error with a traceback
