"""The HTTP surface: health probes, request ids, and GraphQL-over-HTTP status codes."""

import asyncio
import json
import os
from pathlib import Path

import httpx

from tests.support import Api

POLICY_QUERY = (
    "{ passwordPolicy { minLength maxLength requiresUppercase requiresDigit latinOnly } }"
)


async def test_health_and_readiness(api: Api):
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["database"]) == ("ok", True)
    assert body["events"] | {"lastOpened": None} == {
        "source": "embedded-watch",
        "flowing": True,
        "failingSince": None,
        "lastOpened": None,
        "polling": False,
    }


async def test_password_policy_matches_the_guide(api: Api):
    data = await api.data(POLICY_QUERY)
    assert data["passwordPolicy"] == {
        "minLength": 8,
        "maxLength": 128,
        "requiresUppercase": True,
        "requiresDigit": True,
        "latinOnly": True,
    }


async def test_every_response_has_a_request_id(api: Api):
    fresh = await api.http.post("/graphql", json={"query": POLICY_QUERY})
    given = await api.http.post(
        "/graphql", json={"query": POLICY_QUERY}, headers={"X-Request-ID": "frontend-req-42"}
    )
    assert len(fresh.headers["x-request-id"]) == 32
    assert given.headers["x-request-id"] == "frontend-req-42"


async def test_queries_work_over_get_with_the_preflight_header(api: Api):
    response = await api.http.get(
        "/graphql", params={"query": POLICY_QUERY}, headers={"GraphQL-Require-Preflight": "1"}
    )
    assert response.status_code == 200
    assert response.json()["data"]["passwordPolicy"]["minLength"] == 8


async def test_get_never_runs_a_mutation(api: Api):
    response = await api.http.get(
        "/graphql",
        params={
            "query": 'mutation { login(input: {email: "a@b.c", password: "x"}) { __typename } }'
        },
        headers={"GraphQL-Require-Preflight": "1"},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "errors" in response.json()


async def test_malformed_json_is_a_client_error(api: Api):
    response = await api.http.post(
        "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_unsupported_content_type_is_a_client_error(api: Api):
    response = await api.http.post(
        "/graphql", content=b"query", headers={"Content-Type": "application/xml"}
    )
    assert 400 <= response.status_code < 500


async def test_missing_query_is_a_client_error(api: Api):
    response = await api.http.post("/graphql", json={"variables": {}})
    assert response.status_code == 400


async def test_unknown_operation_name_is_a_client_error(api: Api):
    response = await api.http.post(
        "/graphql", json={"query": "query A { me { id } }", "operationName": "B"}
    )
    assert response.status_code == 400


async def test_invalid_document_gets_graphql_errors_not_a_crash(api: Api):
    response = await api.http.post("/graphql", json={"query": "{ nope }"})
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"]


async def test_graphiql_page_is_served_with_local_assets(server: str):
    async with httpx.AsyncClient(base_url=server) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "/static/vendor/graphiql.min.js" in page.text
        assert "unpkg" not in page.text
        assert "cdn" not in page.text.lower()
        for asset in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js"):
            assert (await http.get(f"/static/vendor/{asset}")).status_code == 200


async def test_graphql_over_http_audit_passes_every_must_and_should(
    server: str, project_root: Path
):
    audit = await asyncio.create_subprocess_exec(
        "node",
        str(project_root / "tests" / "node" / "audit.cjs"),
        f"{server}/graphql",
        env={**os.environ, "NODE_PATH": str(project_root / "web" / "node_modules")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await asyncio.wait_for(audit.communicate(), 60)
    assert audit.returncode == 0, errors.decode()
    results = json.loads(output)

    failures = [
        f"{r['status']}: {r['name']} ({r['reason']})"
        for r in results
        if r["status"] in ("error", "warn")  # MUST and SHOULD; "notice" is a MAY
    ]
    assert len(results) > 50
    assert failures == [], "\n".join(failures)
