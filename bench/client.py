"""The load generator's HTTP side: one keep-alive connection pool, GraphQL over POST."""

from types import TracebackType
from typing import Any, Self

import httpx
import orjson

from bench.seed import PASSWORD

LOGIN = """mutation Login($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { __typename ... on AuthSuccess { token } }
}"""


class BenchError(Exception):
    """The server answered something other than what the benchmark expects."""


class Client:
    """httpx with at most ``connections`` connections (one per worker) kept alive."""

    def __init__(self, base_url: str, connections: int = 8) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=120,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.aclose()

    @staticmethod
    def _headers(token: str | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def graphql(self, query: str, token: str | None = None, **variables: Any) -> Any:
        """The `data` of an answer without errors."""
        body = orjson.dumps({"query": query, "variables": variables})
        response = await self.http.post("/graphql", content=body, headers=self._headers(token))
        answer = orjson.loads(response.content) if response.status_code == 200 else {}
        if response.status_code != 200 or answer.get("errors"):
            raise BenchError(f"{response.status_code}: {response.text[:500]}")
        return answer["data"]

    async def get_json(self, path: str, token: str | None = None) -> Any:
        response = await self.http.get(path, headers=self._headers(token))
        if response.status_code != 200:
            raise BenchError(f"GET {path}: {response.status_code} {response.text[:500]}")
        return orjson.loads(response.content)

    async def login(self, email: str) -> str:
        data = await self.graphql(LOGIN, email=email, password=PASSWORD)
        if data["login"]["__typename"] != "AuthSuccess":
            raise BenchError(f"login of {email}: {data}")
        return data["login"]["token"]


def expect(data: dict[str, Any], field: str, typename: str) -> dict[str, Any]:
    """``data[field]``, which must be a ``typename`` (a mutation's result union)."""
    result = data[field]
    if result.get("__typename") != typename:
        raise BenchError(f"{field}: expected {typename}, got {result}")
    return result
