"""Write path: customers file callbacks, then an operator takes each into work."""

from dataclasses import dataclass

from bench.client import Client, expect
from bench.load import drive
from bench.seed import OPERATOR, WRITER
from bench.server import Server
from bench.stats import Run

CREATE = """mutation File {
  createRequest(input: {callback: {topic: "Benchmark"}}) { __typename ... on Request { id } }
}"""
CHANGE = """mutation Take($id: ID!) {
  changeRequestStatus(input: {requestId: $id, status: IN_PROGRESS}) {
    __typename ... on Request { status }
  }
}"""


@dataclass(frozen=True, slots=True)
class WriteResult:
    create: Run
    change: Run


async def write_path(server: Server, *, total: int, concurrency: int) -> WriteResult:
    """``total`` createRequest (CALLBACK) at ``concurrency``; then changeRequestStatus
    SUBMITTED -> IN_PROGRESS on each of them, every worker on its own requests."""
    async with Client(server.base_url, concurrency) as client:
        customer = await client.login(WRITER)
        operator = await client.login(OPERATOR)
        filed: list[str] = [""] * total

        async def create(index: int) -> None:
            data = await client.graphql(CREATE, customer)
            filed[index] = expect(data, "createRequest", "Request")["id"]

        async def change(index: int) -> None:
            data = await client.graphql(CHANGE, operator, id=filed[index])
            expect(data, "changeRequestStatus", "Request")

        created = await server.measure(drive(create, total=total, concurrency=concurrency))
        changed = await server.measure(drive(change, total=total, concurrency=concurrency))
    return WriteResult(create=created, change=changed)
