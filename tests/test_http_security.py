"""The HTTP layer's defences: CSRF, media types, batching, CORS, headers, body limits."""

import json

import pytest

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

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "Batched requests (a JSON array) are not accepted: "
                "send one operation per request."
            }
        ]
    }
