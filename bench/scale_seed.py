"""The scale section's databases: members, unlinked cards and their audit trail, in bulk.

`python -m bench.scale_seed MEMBERS UNLINKED DIRECTORY` writes an embedded database
into DIRECTORY: MEMBERS members, each with a confirmed email and phone (every other
one an unconfirmed second phone too), two cards on that phone and ten callback
requests (seven submitted, two in progress, one completed), and the audit events
their sign-up (email confirmed, phone confirmed, first sign-in) and the operator's
status changes left;
UNLINKED cards on phones nobody holds; and the accounts the section signs in as
(CUSTOMER, shaped like a member, OPERATOR, ADMIN) with the cards verifyContact
links. Written as the project's Beanie documents with insert_many in batches,
progress on stdout.

`python -m bench.scale_seed --indexes-only DIRECTORY` opens one, which builds the indexes
the models declare and it lacks. `seeded()` builds a database once per size and reuses it
until the fields of the models it holds or SEED_VERSION change, and builds new indexes in
place when only those changed (both hashes are written beside the database).
"""

import argparse
import asyncio
import hashlib
import itertools
import json
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from beanie import Document, PydanticObjectId

from bench.seed import PASSWORD
from kabinet.auth.passwords import PasswordHashing
from kabinet.clock import now
from kabinet.config import Settings
from kabinet.db import EMBEDDED_FILE, Database, checkpoint_truncate
from kabinet.documents import (
    AuditAction,
    AuditEventDocument,
    ContactDocument,
    ContactKind,
    InsuredPerson,
    PolicyDocument,
    PolicyStatus,
    RequestDocument,
    RequestKind,
    RequestStatus,
    Role,
    UserDocument,
)
from kabinet.documents.request import CallbackDetails, StatusChange
from kabinet.resolvers.account import create_confirmed_user
from kabinet.resolvers.requests import due

ROOT = Path(__file__).parent.parent
KEY_FILE = "seed.key"
# What this module seeds, by hand: raise it when a change here changes the data (a key of
# the module's source rebuilt 2.6 GB, 40 minutes, for any edit).
SEED_VERSION = 2
BATCH = 1000
CUSTOMER = "customer@scale.example.com"
OPERATOR = "operator@scale.example.com"
ADMIN = "admin@scale.example.com"
# verifyContact links the two cards of each of these phones; an account holds at most
# ten contacts and CUSTOMER has two.
VERIFICATIONS = 7
REQUESTS_PER_MEMBER = 10
# The default targets: the seeded requests are overdue as old ones would be.
DUE_TARGETS = due.targets(Settings(_env_file=None))  # type: ignore[call-arg]
SURNAMES = [
    "Коваленко",
    "Бондаренко",
    "Ткаченко",
    "Кравченко",
    "Шевченко",
    "Олійник",
    "Шевчук",
    "Поліщук",
    "Бойко",
    "Мельник",
    "Лисенко",
    "Марченко",
    "Руденко",
    "Савченко",
    "Петренко",
    "Кузьменко",
    "Павленко",
    "Мороз",
    "Гончаренко",
    "Левченко",
    "Харченко",
    "Романенко",
    "Клименко",
    "Костенко",
    "Приходько",
    "Ковальчук",
    "Іваненко",
    "Панченко",
    "Литвиненко",
    "Кравчук",
]
FIRST_NAMES = [
    "Олена",
    "Андрій",
    "Ірина",
    "Марко",
    "Оксана",
    "Богдан",
    "Наталія",
    "Тарас",
    "Юлія",
    "Дмитро",
    "Софія",
    "Остап",
    "Катерина",
    "Євген",
    "Галина",
    "Ярослав",
    "Тетяна",
    "Василь",
    "Людмила",
    "Ігор",
    "Мар'яна",
    "Олег",
    "Вікторія",
    "Роман",
    "Ганна",
    "Степан",
    "Олександра",
    "Максим",
    "Христина",
    "Юрій",
]
PATRONYMICS = [
    "Петрівна",
    "Іванович",
    "Олегівна",
    "Андрійович",
    "Миколаївна",
    "Васильович",
    "Степанівна",
    "Богданович",
    "Юріївна",
    "Романович",
    "Ігорівна",
    "Тарасович",
    "Дмитрівна",
    "Олександрович",
    "Вікторівна",
    "Максимович",
    "Ярославівна",
    "Євгенович",
    "Григорівна",
    "Федорович",
]
# A member's requests, by position: mostly new, some taken into work, one done.
REQUEST_STATUSES = (
    [RequestStatus.SUBMITTED] * 7 + [RequestStatus.IN_PROGRESS] * 2 + [RequestStatus.COMPLETED]
)


def member_phone(n: int) -> str:
    return f"+38066{n:07d}"


def customer_phone() -> str:
    return "+380670000001"


def verification_phone(n: int) -> str:
    return f"+38068{n:07d}"


def unlinked_phone(n: int) -> str:
    return f"+38050{n:07d}"


def member_card_number(n: int, k: int) -> str:
    return f"UA-S-{n:06d}-{k}"


def unlinked_card_number(n: int) -> str:
    return f"UA-U-{n:06d}"


def full_name(n: int) -> str:
    """A name of the n-th person: about one card in 18,000 shares a whole name."""
    return " ".join(
        (
            SURNAMES[n % len(SURNAMES)],
            FIRST_NAMES[n // len(SURNAMES) % len(FIRST_NAMES)],
            PATRONYMICS[n // 7 % len(PATRONYMICS)],
        )
    )


def card(number: str, phone: str, name: str) -> PolicyDocument:
    today = now().date()
    policy = PolicyDocument(
        id=PydanticObjectId(),
        number=number,
        insurer="Скейл Страхування",
        program="Оптимальний",
        status=PolicyStatus.ACTIVE,
        valid_from=today - timedelta(days=365),
        valid_to=today + timedelta(days=365),
        insured_person=InsuredPerson(full_name=name),
        phones=[phone],
    )
    policy.fill_derived_fields()  # insert_many runs no event hooks
    return policy


def _history(status: RequestStatus, at: datetime, operator: UserDocument) -> list[StatusChange]:
    path = [RequestStatus.SUBMITTED]
    if status is not RequestStatus.SUBMITTED:
        path.append(RequestStatus.IN_PROGRESS)
    if status is RequestStatus.COMPLETED:
        path.append(RequestStatus.COMPLETED)
    return [
        StatusChange(
            status=step,
            at=at + timedelta(minutes=i),
            by_operator=i > 0,
            actor_id=operator.id if i > 0 else None,
        )
        for i, step in enumerate(path)
    ]


class Members:
    """Everything the members have, collection by collection, for insert_many; the
    operator moved some of their requests along."""

    def __init__(self, operator: UserDocument) -> None:
        self.operator = operator
        self.users: list[Document] = []
        self.contacts: list[Document] = []
        self.cards: list[Document] = []
        self.requests: list[Document] = []
        self.events: list[Document] = []

    def add(self, user: UserDocument, phone: str, n: int, *, second_phone: bool) -> None:
        """What the n-th member, ``user``, has (not the account itself)."""
        self.contacts += [
            ContactDocument.confirmed(user.id, ContactKind.PHONE, phone),  # type: ignore[arg-type]
            ContactDocument.confirmed(user.id, ContactKind.EMAIL, user.email),  # type: ignore[arg-type]
        ]
        if second_phone:
            self.contacts.append(
                ContactDocument(user_id=user.id, kind=ContactKind.PHONE, value=f"+38097{n:07d}")  # type: ignore[arg-type]
            )
        own = [card(member_card_number(n, k), phone, full_name(2 * n + k)) for k in (1, 2)]
        self.cards += own
        self._sign_up_events(user, n)
        self._requests(user, own, phone, n)

    def _sign_up_events(self, user: UserDocument, n: int) -> None:
        """What registering, confirming a phone and signing in once write to the audit log."""
        common = {
            "actor_id": user.id,
            "actor_role": Role.CUSTOMER.value,
            "subject_id": user.id,
            "ip": f"192.0.2.{n % 250 + 1}",
            "user_agent": "Mozilla/5.0 (scale seed)",
        }
        at = user.created_at
        self.events += [
            AuditEventDocument(action=AuditAction.EMAIL_CONFIRMED, at=at, **common),
            AuditEventDocument(
                action=AuditAction.CONTACT_VERIFIED,
                at=at + timedelta(minutes=1),
                target_type="contact",
                **common,
            ),
            AuditEventDocument(action=AuditAction.LOGIN, at=at + timedelta(minutes=2), **common),
        ]

    def _requests(
        self, user: UserDocument, cards: Sequence[PolicyDocument], phone: str, n: int
    ) -> None:
        """Ten requests filed a minute apart (older members earlier), with the audit event
        of each status change the operator made."""
        start = now() - timedelta(minutes=REQUESTS_PER_MEMBER * n + 60)
        for j, status in enumerate(REQUEST_STATUSES):
            at = start - timedelta(minutes=j)
            history = _history(status, at, self.operator)
            request = RequestDocument(
                id=PydanticObjectId(),
                number=f"R-S-{user.id}-{j}",
                user_id=user.id,
                policy_id=cards[j % len(cards)].id,
                kind=RequestKind.CALLBACK,
                status=status,
                details=CallbackDetails(phone=phone, topic="Питання щодо поліса"),
                history=history,
                # Due as the defaults say; announced already, as a live database's would be.
                due_at=due.due_at(RequestKind.CALLBACK, at, history, DUE_TARGETS),
                created_at=at,
                updated_at=history[-1].at,
            )
            self.requests.append(request)
            self.events += [
                AuditEventDocument(
                    action=AuditAction.REQUEST_STATUS_CHANGED,
                    at=change.at,
                    actor_id=self.operator.id,
                    actor_role=Role.OPERATOR.value,
                    subject_id=user.id,
                    target_type="request",
                    target_id=str(request.id),
                    before={"status": previous.status.value},
                    after={"status": change.status.value},
                )
                for previous, change in itertools.pairwise(history)
            ]


def _member(n: int) -> UserDocument:
    return UserDocument(
        id=PydanticObjectId(),
        email=f"m{n}@scale.example.com",
        password_hash="-",  # noqa: S106 - no one signs in as these members
        email_confirmed=True,
        created_at=now() - timedelta(days=30, minutes=n),
    )


async def _staff(passwords: PasswordHashing, email: str, role: Role) -> UserDocument:
    created = await create_confirmed_user(
        passwords=passwords, email=email, password=PASSWORD, role=role
    )
    if not isinstance(created, UserDocument):
        raise RuntimeError(f"{email}: {created}")
    return created


async def _insert(label: str, documents: list[Document]) -> None:
    started = time.perf_counter()
    for start in range(0, len(documents), BATCH):
        batch = documents[start : start + BATCH]
        await type(batch[0]).insert_many(batch)
        done = start + len(batch)
        print(
            f"  {label}: {done}/{len(documents)}, {time.perf_counter() - started:.0f} s",
            flush=True,
        )


async def seed(passwords: PasswordHashing, members: int, unlinked: int) -> None:
    everyone = Members(await _staff(passwords, OPERATOR, Role.OPERATOR))
    await _staff(passwords, ADMIN, Role.ADMIN)
    everyone.users = [_member(n) for n in range(members)]
    for n, user in enumerate(everyone.users):
        everyone.add(user, member_phone(n), n, second_phone=n % 2 == 0)
    everyone.add(
        await _staff(passwords, CUSTOMER, Role.CUSTOMER),
        customer_phone(),
        members,
        second_phone=False,
    )
    everyone.cards += [
        card(f"UA-V-{r:04d}-{k}", verification_phone(r), full_name(r))
        for r in range(VERIFICATIONS)
        for k in (1, 2)
    ]
    everyone.cards += [
        card(unlinked_card_number(n), unlinked_phone(n), full_name(n)) for n in range(unlinked)
    ]
    for label, documents in (
        ("users", everyone.users),
        ("contacts", everyone.contacts),
        ("cards", everyone.cards),
        ("requests", everyone.requests),
        ("audit events", everyone.events),
    ):
        await _insert(label, documents)


SEEDED: tuple[type[Document], ...] = (
    UserDocument,
    ContactDocument,
    PolicyDocument,
    RequestDocument,
    AuditEventDocument,
)


def _key(members: int, unlinked: int) -> str:
    """What the data is made of: the sizes, the fields of the models it holds (not their
    module's other code) and SEED_VERSION; a change to any of them builds it again."""
    digest = hashlib.sha256(f"{members} members, {unlinked} unlinked cards".encode())
    for model in SEEDED:
        digest.update(json.dumps(model.model_json_schema(), sort_keys=True).encode())
    digest.update(f"seed {SEED_VERSION}".encode())
    return digest.hexdigest()


def _indexes_key() -> str:
    """The indexes the models declare; a change to them builds the new ones in place."""
    indexes = [[index.document for index in model.Settings.indexes] for model in SEEDED]
    return hashlib.sha256(json.dumps(indexes, sort_keys=True, default=str).encode()).hexdigest()


async def seeded(root: Path, members: int, unlinked: int) -> Path:
    """The directory ``root``/scale-``members`` holding an up-to-date database of this size,
    built first (in another process, to a scratch directory, then moved in place) when
    missing or made by other documents; when only the indexes changed, they are built
    in place (as `kabinet serve` would on a deployment's data)."""
    directory = root / f"scale-{members}"
    data_key, indexes_key = _key(members, unlinked), _indexes_key()
    key_file = directory / KEY_FILE
    stored = key_file.read_text().split() if key_file.exists() else []
    if stored == [data_key, indexes_key]:
        return directory
    if stored[:1] == [data_key]:
        print(f"building the changed indexes in {directory}", flush=True)
        await _run_seeding("--indexes-only", str(directory))
        key_file.write_text(f"{data_key} {indexes_key}")
        return directory
    building = root / f"scale-{members}.building"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    print(f"seeding {members} members and {unlinked} unlinked cards into {directory}", flush=True)
    await _run_seeding(str(members), str(unlinked), str(building))
    (building / KEY_FILE).write_text(f"{data_key} {indexes_key}")
    shutil.rmtree(directory, ignore_errors=True)
    building.rename(directory)
    return directory


async def _run_seeding(*arguments: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.scale_seed", *arguments
    )
    if await process.wait():
        raise RuntimeError(f"bench.scale_seed {' '.join(arguments)} failed ({process.returncode})")


async def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indexes-only", type=Path, metavar="DIRECTORY")
    parser.add_argument("members", type=int, nargs="?")
    parser.add_argument("unlinked", type=int, nargs="?")
    parser.add_argument("directory", type=Path, nargs="?")
    arguments = parser.parse_args()
    directory = arguments.indexes_only or arguments.directory
    settings = Settings(_env_file=None, data_dir=directory)
    async with Database(settings), PasswordHashing.of(settings) as passwords:
        if not arguments.indexes_only:  # opening the database built the indexes
            await seed(passwords, arguments.members, arguments.unlinked)
    if not checkpoint_truncate(directory / EMBEDDED_FILE):
        raise RuntimeError("the database journal stayed busy: the file alone would lack data")


if __name__ == "__main__":
    asyncio.run(_main())
