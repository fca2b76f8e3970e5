"""CPU per operation against a large embedded SQLite database (issue 14's scale table).

`python -m bench.scale_probe --members 3000 [--unpatched]`: seeds (once, into
var/scale-<members>/) members with 2 cards, 10 requests and 2-3 contacts each, as the
project's Beanie documents, then runs kabinet in this process on a copy of that file and
prints the CPU of this process (application, engine and the in-process client) per
operation. `--unpatched` runs the engine without kabinet/engine_compat.py, for the
"before" column. A probe, not a test: nothing here is asserted.
"""

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from beanie import PydanticObjectId

from bench.floor import READ_QUERY
from kabinet import engine_compat
from kabinet.app import create_app
from kabinet.auth.passwords import PasswordHashing
from kabinet.clock import now
from kabinet.config import Settings
from kabinet.db import EMBEDDED_FILE, Database
from kabinet.documents import (
    ContactDocument,
    ContactKind,
    InsuredPerson,
    OutboxMessageDocument,
    PolicyDocument,
    PolicyStatus,
    RequestDocument,
    RequestKind,
    Role,
    UserDocument,
)
from kabinet.documents.request import CallbackDetails, StatusChange
from kabinet.resolvers.account import create_confirmed_user

ROOT = Path(__file__).parent.parent
PASSWORD = "Scale-pass-1"  # noqa: S105 - a throwaway account on a throwaway database
CUSTOMER = "customer@scale.example.com"
OPERATOR = "operator@scale.example.com"
REPEATS = 10
VERIFICATIONS = 7  # an account holds at most 10 contacts; the customer has 2
RATE_LIMITS = "contact-codes:account=1000000/1h,requests:account=1000000/1h,login:account=1000000/15m,login:ip=1000000/15m"


def _phone(prefix: str, n: int) -> str:
    return f"+380{prefix}{n:07d}"


def _policy(number: str, phone: str) -> PolicyDocument:
    today = now().date()
    return PolicyDocument(
        id=PydanticObjectId(),
        number=number,
        insurer="Скейл Страхування",
        program="Оптимальний",
        status=PolicyStatus.ACTIVE,
        valid_from=today - timedelta(days=365),
        valid_to=today + timedelta(days=365),
        insured_person=InsuredPerson(full_name=f"Особа {number}"),
        phones=[phone],
    )


def _requests(user: UserDocument, cards: list[PolicyDocument], phone: str) -> list[Any]:
    moment = now()
    return [
        RequestDocument(
            number=f"R-S-{user.email.split('@')[0]}-{j}",
            user_id=user.id,
            policy_id=cards[j % len(cards)].id,
            kind=RequestKind.CALLBACK,
            details=CallbackDetails(phone=phone, topic="Питання щодо поліса"),
            history=[StatusChange(status="submitted", at=moment, by_operator=False)],
            created_at=moment - timedelta(minutes=j),
            updated_at=moment - timedelta(minutes=j),
        )
        for j in range(10)
    ]


async def _member(user: UserDocument, phone: str, n: int, extra: bool) -> list[list[Any]]:
    """A member's contacts, two cards and ten requests (the user is inserted already)."""
    moment = now()
    contacts = [
        ContactDocument.confirmed(user.id, ContactKind.PHONE, phone),  # type: ignore[arg-type]
        ContactDocument.confirmed(user.id, ContactKind.EMAIL, user.email),  # type: ignore[arg-type]
    ]
    if extra:
        contacts.append(
            ContactDocument(
                user_id=user.id, kind=ContactKind.PHONE, value=_phone("97", n), created_at=moment
            )
        )
    cards = [_policy(f"UA-S-{n:06d}-{k}", phone) for k in (1, 2)]
    return [contacts, cards, _requests(user, cards, phone)]


async def seed(members: int, passwords: PasswordHashing) -> None:
    users = [
        UserDocument(
            id=PydanticObjectId(),
            email=f"m{n}@scale.example.com",
            password_hash="-",  # noqa: S106 - no one signs in as these members
            email_confirmed=True,
        )
        for n in range(members)
    ]
    await UserDocument.insert_many(users)
    contacts: list[Any] = []
    cards: list[Any] = []
    requests: list[Any] = []
    for n, user in enumerate(users):
        own = await _member(user, _phone("66", n), n, n % 2 == 0)
        contacts += own[0]
        cards += own[1]
        requests += own[2]
    customer = await create_confirmed_user(
        passwords=passwords, email=CUSTOMER, password=PASSWORD, role=Role.CUSTOMER
    )
    assert isinstance(customer, UserDocument)
    own = await _member(customer, _phone("67", 1), members, False)
    contacts += own[0]
    cards += own[1]
    requests += own[2]
    # Two cards for each phone verifyContact links
    cards += [
        _policy(f"UA-V-{r:04d}-{k}", _phone("68", r)) for r in range(VERIFICATIONS) for k in (1, 2)
    ]
    await create_confirmed_user(
        passwords=passwords, email=OPERATOR, password=PASSWORD, role=Role.OPERATOR
    )
    for batch in (contacts, cards, requests):
        for start in range(0, len(batch), 1000):
            await type(batch[0]).insert_many(batch[start : start + 1000])


async def graphql(
    http: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = (
        await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    ).json()
    if "errors" in answer:
        raise RuntimeError(answer["errors"])
    return answer["data"]


async def cpu_ms(
    operation: Callable[[Any], Awaitable[object]],
    prepare: Callable[[int], Awaitable[Any]] | None = None,
    repeats: int = REPEATS,
) -> float:
    """Median CPU of this process per call of ``operation`` (given what ``prepare`` made)."""
    spent = []
    for r in range(repeats):
        prepared = await prepare(r) if prepare else r
        before = time.process_time()
        await operation(prepared)
        spent.append((time.process_time() - before) * 1000)
    return sorted(spent)[len(spent) // 2]


LOGIN = "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { ... on AuthSuccess { token } } }"
CREATE = 'mutation { createRequest(input: {callback: {topic: "Питання"}}) { __typename ... on Request { id } } }'
CHANGE = "mutation($id: ID!) { changeRequestStatus(input: {requestId: $id, status: IN_PROGRESS}) { __typename } }"
QUEUE = "{ requestQueue(first: 20) { edges { node { number status } } } }"
QUEUE_TOTAL = "{ requestQueue(first: 20) { totalCount edges { node { number status } } } }"
FIND = "query($s: String!) { findPolicies(search: $s) { edges { node { number } } } }"
ADD = (
    "mutation($v: String!) { addContact(input: {value: $v}) { __typename ... on Contact { id } } }"
)
VERIFY = "mutation($id: ID!, $c: String!) { verifyContact(input: {contactId: $id, code: $c}) { __typename } }"


async def probe(data_dir: Path) -> dict[str, float]:
    settings = Settings(_env_file=None, data_dir=data_dir, rate_limits=RATE_LIMITS)
    async with Database(settings) as database:
        app = create_app(settings, database=database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://scale.test") as http:
            token = (await graphql(http, LOGIN, e=CUSTOMER, p=PASSWORD))["login"]["token"]
            staff = (await graphql(http, LOGIN, e=OPERATOR, p=PASSWORD))["login"]["token"]
            created: list[str] = []

            async def create(_: int) -> None:
                created.append((await graphql(http, CREATE, token))["createRequest"]["id"])

            async def add(r: int) -> tuple[str, str]:
                added = (await graphql(http, ADD, token, v=_phone("68", r)))["addContact"]
                message = await OutboxMessageDocument.find_one({"recipient": _phone("68", r)})
                assert message is not None
                code = next(word for word in message.body.split() if word.strip(".").isdigit())
                return added["id"], code.strip(".")

            results = {
                "me": await cpu_ms(lambda _: graphql(http, READ_QUERY, token)),
                "createRequest CALLBACK": await cpu_ms(create),
            }
            ids = iter(created)
            results["changeRequestStatus"] = await cpu_ms(
                lambda _: graphql(http, CHANGE, staff, id=next(ids))
            )
            results["requestQueue first page"] = await cpu_ms(lambda _: graphql(http, QUEUE, staff))
            results["requestQueue with totalCount"] = await cpu_ms(
                lambda _: graphql(http, QUEUE_TOTAL, staff)
            )
            results["findPolicies by phone"] = await cpu_ms(
                lambda _: graphql(http, FIND, staff, s=_phone("66", 7))
            )
            results["verifyContact (links 2 cards)"] = await cpu_ms(
                lambda prepared: graphql(http, VERIFY, token, id=prepared[0], c=prepared[1]),
                add,
                VERIFICATIONS,
            )
            return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--unpatched", action="store_true")
    arguments = parser.parse_args()
    seeded = ROOT / "var" / f"scale-{arguments.members}"
    if not (seeded / EMBEDDED_FILE).exists():
        if arguments.unpatched:
            parser.error("seed first: run once without --unpatched")
        settings = Settings(_env_file=None, data_dir=seeded)
        async with Database(settings), PasswordHashing.of(settings) as passwords:
            await seed(arguments.members, passwords)
    if arguments.unpatched:
        engine_compat._applied = True  # `apply()` does nothing then
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(seeded / EMBEDDED_FILE, Path(scratch) / EMBEDDED_FILE)
        results = await probe(Path(scratch))
    label = "unpatched" if arguments.unpatched else "patched"
    for name, value in results.items():
        print(f"{arguments.members} members, {label}: {name}: {value:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
