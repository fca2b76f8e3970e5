"""Scale: server CPU per operation on a small and a large database (issue 14).

For each size, bench.scale_seed's database (built once into var/) is copied afresh and
served by bench.server's process (KABINET_DATA_DIR on the copy). Each operation is
called `repeats` times, one call at a time, after whatever it needs was prepared
unmeasured (a request to cancel, a contact to verify, a session to use); its figure is
the median CPU time the server process spent during one call. Every answer is
checked, so a failing operation stops the run instead of being measured as fast.
Then, with the server stopped, `kabinet import-policies` loads a generated registry
into the same copy: its wall time and CPU time (its own process: the database runs in
it). The figure of an operation is the large size's against the small one's.
"""

import asyncio
import contextlib
import csv
import math
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from bson import ObjectId
from pymongo import AsyncMongoClient

from bench import scale_seed
from bench.client import BenchError, Client, expect
from bench.floor import READ_QUERY
from bench.seed import registry_row
from bench.server import ROOT, Server, bench_server, free_port, kabinet_free_environment
from bench.write_path import CREATE
from kabinet.db import EMBEDDED_FILE
from kabinet.documents import OutboxMessageDocument, OutboxStatus

VAR = ROOT / "var"
DATABASE = "kabinet"  # KABINET_DATABASE's default, which the bench's server keeps
# issue 14's targets: no operation costs more than 1.3x at the large size; `me` and
# createRequest cost there no more than on the nearly empty database of the rest of
# the bench when the issue was filed; the import takes under 2 minutes.
RATIO_TARGET = 1.3
CEILINGS_MS = {"me": 21.0, "createRequest": 34.0}
IMPORT_WALL_TARGET_S = 120.0
# Opening the large database takes a server a minute or more on a loaded machine.
READY_SECONDS = 600.0
QUIET_CPU_MS_PER_S = 50.0  # an idle server spends about 5 ms of CPU per second

CHANGE = """mutation Take($id: ID!) {
  changeRequestStatus(input: {requestId: $id, status: IN_PROGRESS}) { __typename }
}"""
CANCEL = """mutation Cancel($id: ID!) {
  cancelRequest(input: {requestId: $id, reason: "Вже не потрібно"}) { __typename }
}"""
COMMENT = """mutation Comment($id: ID!) {
  addComment(input: {requestId: $id, text: "Зручно після 18:00"}) { __typename }
}"""
QUEUE = "{ requestQueue(first: 20) { edges { node { number status } } } }"
QUEUE_TOTAL = "{ requestQueue(first: 20) { totalCount edges { node { number status } } } }"
QUEUE_BY_STATUS = """{
  requestQueue(first: 20, filter: {statuses: [IN_PROGRESS]}) { edges { node { number status } } }
}"""
QUEUE_DUE = """{
  requestQueue(first: 20, orderBy: DUE_SOONEST) { edges { node { number status dueAt } } }
}"""
QUEUE_OVERDUE = """{
  requestQueue(first: 20, filter: {overdue: true}) { edges { node { number status dueAt } } }
}"""
QUEUE_COUNTS = "{ queueCounts { byStatus { count } byKind { count } overdue assignedToMe } }"
FIND = (
    "query Find($s: String!) { findPolicies(search: $s, first: 20) { edges { node { number } } } }"
)
ADD_CONTACT = """mutation Add($v: String!) {
  addContact(input: {value: $v}) { __typename ... on Contact { id } }
}"""
VERIFY = """mutation Verify($id: ID!, $c: String!) {
  verifyContact(input: {contactId: $id, code: $c}) {
    __typename ... on ContactVerified { linkedPolicies { number } }
  }
}"""
SECURITY_EVENTS = "{ securityEvents(first: 20) { edges { node { at action actorRole } } } }"


@dataclass(frozen=True, slots=True)
class ScaleSizes:
    small: int  # members
    large: int
    unlinked: int  # cards nobody holds, in both databases
    import_rows: int
    repeats: int


def import_operation(rows: int) -> str:
    return f"import-policies {rows} rows"


@dataclass(frozen=True, slots=True)
class Import:
    wall_seconds: float
    cpu_ms: float


@dataclass(frozen=True, slots=True)
class Measured:
    """One size: the median server CPU per call of each operation (NaN for one that
    failed, with the error in ``failures``), and the import."""

    cpu_ms: dict[str, float]
    failures: dict[str, str]
    imported: Import


def _rounded(value: float, digits: int) -> float | None:
    return None if math.isnan(value) else round(value, digits)


@dataclass(frozen=True, slots=True)
class ScaleResult:
    sizes: ScaleSizes
    small: Measured
    large: Measured

    def operations(self) -> list[tuple[str, float, float]]:
        """(operation, small CPU ms, large CPU ms), the import last."""
        measured = [
            (name, self.small.cpu_ms[name], self.large.cpu_ms[name]) for name in self.small.cpu_ms
        ]
        return [
            *measured,
            (
                import_operation(self.sizes.import_rows),
                self.small.imported.cpu_ms,
                self.large.imported.cpu_ms,
            ),
        ]

    def as_json(self) -> dict[str, dict[str, object]]:
        """The figures by operation; a failed one's are null, with its errors by size."""
        figures: dict[str, dict[str, object]] = {
            name: {
                "small_cpu_ms": _rounded(small, 2),
                "large_cpu_ms": _rounded(large, 2),
                "ratio": _rounded(large / small, 3),
            }
            for name, small, large in self.operations()
        }
        for size, measured in (("small", self.small), ("large", self.large)):
            for name, error in measured.failures.items():
                figures[name].setdefault("errors", {})[size] = error  # type: ignore[union-attr]
        figures[import_operation(self.sizes.import_rows)] |= {
            "small_wall_s": round(self.small.imported.wall_seconds, 2),
            "large_wall_s": round(self.large.imported.wall_seconds, 2),
        }
        return figures


class SmsGateway:
    """A stand-in for the SMS gateway on loopback: it answers 200 to every POST and keeps
    what it was sent, so the bench reads a confirmation code as a phone would."""

    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []
        self.url = ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                body = await reader.readexactly(int(length.group(1)) if length else 0)
                self.messages.append(orjson.loads(body))
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
        writer.close()

    async def code_for(self, phone: str) -> tuple[str, str]:
        """The confirmation code of the latest SMS to ``phone`` and that message's id,
        once one arrives."""
        async with asyncio.timeout(30):
            while not (sent := [m for m in self.messages if m["to"] == phone]):  # noqa: ASYNC110 - filled by _serve
                await asyncio.sleep(0.01)
        found = re.search(r"\b(\d{6})\b", sent[-1]["text"])
        if not found:
            raise BenchError(f"no code in the SMS to {phone}: {sent[-1]}")
        return found.group(1), sent[-1]["id"]


@contextlib.asynccontextmanager
async def sms_gateway() -> AsyncIterator[SmsGateway]:
    gateway = SmsGateway()
    server = await asyncio.start_server(gateway._serve, "127.0.0.1", 0)
    gateway.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/sms"
    async with server:
        yield gateway


async def _median_cpu_ms[T](
    server: Server,
    call: Callable[[T], Awaitable[object]],
    prepare: Callable[[int], Awaitable[T]],
    repeats: int,
) -> float:
    """Median of the server's CPU time during ``call(prepare(r))``, over ``repeats`` calls."""
    spent = []
    for r in range(repeats):
        prepared = await prepare(r)
        before = server.cpu_seconds()
        await call(prepared)
        spent.append(server.cpu_seconds() - before)
    return statistics.median(spent) * 1000


async def _quiet(server: Server) -> None:
    """Wait until the server idles: what it does once at start (the search-key filler reads
    the cards) would otherwise be counted to the first calls."""
    async with asyncio.timeout(300):
        while await server.cpu_per_second(0.5) > QUIET_CPU_MS_PER_S:
            pass


async def _index(r: int) -> int:
    return r


async def _operations(
    server: Server, gateway: SmsGateway, members: int, repeats: int
) -> tuple[dict[str, float], dict[str, str]]:
    """The figure of each operation, and the error of each that failed."""
    async with Client(server.base_url, 2) as client, AsyncMongoClient(server.database_uri) as mongo:
        customer = await client.login(scale_seed.CUSTOMER)
        operator = await client.login(scale_seed.OPERATOR)
        admin = await client.login(scale_seed.ADMIN)
        outbox = mongo[DATABASE][OutboxMessageDocument.Settings.name]
        await _quiet(server)

        figures: dict[str, float] = {}
        failures: dict[str, str] = {}

        async def measure(
            name: str,
            call: Callable[[Any], Awaitable[object]],
            prepare: Callable[[int], Awaitable[Any]] = _index,
            times: int = repeats,
        ) -> None:
            """``name``'s figure; one that fails has none (not a fast one), and the next
            operations still run."""
            try:
                figures[name] = await _median_cpu_ms(server, call, prepare, times)
            except BenchError as error:
                figures[name] = math.nan
                failures[name] = str(error)[:500]

        async def file(_: object = None) -> str:
            filed = await client.graphql(CREATE, customer)
            return expect(filed, "createRequest", "Request")["id"]

        created: list[str] = []

        async def create(_: int) -> None:
            created.append(await file())

        async def change(r: int) -> None:
            answer = await client.graphql(CHANGE, operator, id=created[r])
            expect(answer, "changeRequestStatus", "Request")

        async def cancel(request_id: str) -> None:
            answer = await client.graphql(CANCEL, customer, id=request_id)
            expect(answer, "cancelRequest", "Request")

        async def comment(r: int) -> None:
            answer = await client.graphql(COMMENT, customer, id=created[r])
            expect(answer, "addComment", "Request")

        def query(document: str, token: str) -> Callable[[object], Awaitable[None]]:
            async def call(_: object) -> None:
                data = await client.graphql(document, token)
                if None in data.values():
                    raise BenchError(f"no answer: {data}")

            return call

        def find(search: str) -> Callable[[int], Awaitable[None]]:
            async def call(_: int) -> None:
                found = await client.graphql(FIND, operator, s=search)
                if not found["findPolicies"]["edges"]:
                    raise BenchError(f"findPolicies {search!r} found nothing")

            return call

        async def added_contact(r: int) -> tuple[str, str]:
            """A new phone of the customer, its code delivered and the delivery recorded
            (so the server is quiet again)."""
            phone = scale_seed.verification_phone(r)
            answer = await client.graphql(ADD_CONTACT, customer, v=phone)
            contact_id = expect(answer, "addContact", "Contact")["id"]
            code, message_id = await gateway.code_for(phone)
            async with asyncio.timeout(30):
                while not await outbox.find_one(  # noqa: ASYNC110 - another process writes it
                    {"_id": ObjectId(message_id), "status": OutboxStatus.SENT.value}
                ):
                    await asyncio.sleep(0.01)
            return contact_id, code

        async def verify(prepared: tuple[str, str]) -> None:
            answer = await client.graphql(VERIFY, customer, id=prepared[0], c=prepared[1])
            verified = expect(answer, "verifyContact", "ContactVerified")
            if len(verified["linkedPolicies"]) != 2:
                raise BenchError(f"verifyContact should link 2 cards: {verified}")

        async def signed_in(_: int) -> str:
            return await client.login(scale_seed.CUSTOMER)

        surname_and_first_name = " ".join(scale_seed.full_name(members).split()[:2])
        await measure("me", query(READ_QUERY, customer))
        await measure("createRequest", create)
        await measure("changeRequestStatus", change)
        await measure("cancelRequest", cancel, file)
        await measure("addComment", comment)
        await measure("requestQueue first page", query(QUEUE, operator))
        await measure("requestQueue with totalCount", query(QUEUE_TOTAL, operator))
        await measure("requestQueue by status", query(QUEUE_BY_STATUS, operator))
        await measure("requestQueue by due time", query(QUEUE_DUE, operator))
        await measure("requestQueue overdue", query(QUEUE_OVERDUE, operator))
        await measure("queueCounts", query(QUEUE_COUNTS, operator))
        await measure("findPolicies by phone", find(scale_seed.member_phone(members // 2)))
        await measure("findPolicies by name", find(surname_and_first_name))
        await measure("findPolicies by number prefix", find("UA-S-0000"))
        await measure(
            "verifyContact (links 2 cards)",
            verify,
            added_contact,
            min(repeats, scale_seed.VERIFICATIONS),
        )
        await measure("login", signed_in)
        await measure(
            "first me after sign-in", lambda token: query(READ_QUERY, token)(None), signed_in
        )
        await measure("securityEvents", query(SECURITY_EVENTS, admin))
    return figures, failures


def write_registry(directory: Path, rows: int, unlinked: int) -> tuple[Path, str]:
    """A registry CSV (docs/policy-import.md) of ``rows`` rows in ``directory``: half of
    them (at most ``unlinked``) the unlinked cards again, the rest new cards; and the
    report line the import must print."""
    updated = min(rows // 2, unlinked)

    def csv_row(n: int) -> dict[str, object]:
        again = n < updated
        row = registry_row(
            scale_seed.unlinked_card_number(n) if again else f"UA-I-{n:06d}",
            scale_seed.unlinked_phone(n) if again else f"+38063{n:07d}",
            "self",
            scale_seed.full_name(n),
        )
        return {**row, "phones": ";".join(row["phones"])}  # type: ignore[arg-type]

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"scale-import-{rows}.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        # The columns are the row's (the reader takes them in any order, by header).
        writer = csv.DictWriter(out, list(csv_row(0)))
        writer.writeheader()
        writer.writerows(csv_row(n) for n in range(rows))
    return path, f"created {rows - updated}, updated {updated}"


async def _import(data: Path, registry: Path, report: str) -> Import:
    """`kabinet import-policies` of ``registry`` into the embedded database in ``data``
    (no server running on it); its progress goes to stderr as it comes."""
    env = {
        **kabinet_free_environment(),
        "KABINET_DATA_DIR": str(data),
        "KABINET_EMBEDDED_PORT": str(free_port()),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kabinet.cli",
        "import-policies",
        str(registry),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    output = (await process.communicate())[0].decode()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command's, now it has ended
    if process.returncode or report not in output:
        raise BenchError(f"import-policies: exit {process.returncode}, {output[-500:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Import(wall_seconds=wall, cpu_ms=cpu * 1000)


async def _measure(
    root: Path, members: int, sizes: ScaleSizes, registry: Path, report: str
) -> Measured:
    seeded = await scale_seed.seeded(root, members, sizes.unlinked)
    with tempfile.TemporaryDirectory(prefix="kabinet-scale-") as scratch:
        data = Path(scratch)
        shutil.copy(seeded / EMBEDDED_FILE, data / EMBEDDED_FILE)
        print(f"scale: {members} members, measuring", flush=True)
        async with (
            sms_gateway() as gateway,
            bench_server(data, {"KABINET_SMS_GATEWAY_URL": gateway.url}, READY_SECONDS) as server,
        ):
            cpu_ms, failures = await _operations(server, gateway, members, sizes.repeats)
        print(f"scale: {members} members, {import_operation(sizes.import_rows)}", flush=True)
        imported = await _import(data, registry, report)
    return Measured(cpu_ms=cpu_ms, failures=failures, imported=imported)


async def scale(sizes: ScaleSizes, root: Path = VAR) -> ScaleResult:
    """Both sizes measured, the databases (and the registry) kept in ``root``."""
    registry, report = write_registry(root, sizes.import_rows, sizes.unlinked)
    return ScaleResult(
        sizes=sizes,
        small=await _measure(root, sizes.small, sizes, registry, report),
        large=await _measure(root, sizes.large, sizes, registry, report),
    )
