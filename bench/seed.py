"""The benchmark's data, loaded through kabinet's own use cases (`python -m bench.seed`).

Run by bench.server against the server's embedded database (KABINET_MONGODB_URI).
Cards are valid from a year ago to a year ahead, so the data does not age.

- READER, whose `me` the read path asks for: a full profile, four contacts (two
  confirmed phones, a confirmed email, an unconfirmed phone), both addresses, three
  cards (own, child, spouse) and 24 requests of four kinds on all three cards, a third
  of them moved along by an operator;
- WRITER, who files the write path's requests; SIGNER, who signs in; OPERATOR;
- other people's cards in the registry, so the cards are found among many.
"""

import asyncio
import itertools
from datetime import date, timedelta

from kabinet.cli import cli_caller
from kabinet.clock import now
from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import (
    Address,
    AddressKind,
    ContactDocument,
    ContactKind,
    Gender,
    RequestDocument,
    RequestStatus,
    Role,
    UserDocument,
)
from kabinet.documents.request import MedicationItem, TimeWindow
from kabinet.resolvers import account, addresses, contacts, policies, profile, requests
from kabinet.resolvers.errors import InvalidInput
from kabinet.resolvers.policy_import import import_rows
from kabinet.services import Services

PASSWORD = "Bench-pass-1"  # noqa: S105 - a throwaway account on a throwaway database
READER = "reader@bench.example.com"
WRITER = "writer@bench.example.com"
SIGNER = "signer@bench.example.com"
OPERATOR = "operator@bench.example.com"
READER_PHONES = ("+380671110001", "+380671110002")
WRITER_PHONE = "+380671110003"
READER_REQUESTS = 24
OTHER_CARDS = 20


def registry_row(
    number: str, phone: str, relationship: str, name: str, born: date = date(1988, 4, 12)
) -> dict[str, object]:
    today = now().date()
    return {
        "number": number,
        "insurer": "Бенч Страхування",
        "program": "Оптимальний",
        "status": "active",
        "valid_from": (today - timedelta(days=365)).isoformat(),
        "valid_to": (today + timedelta(days=365)).isoformat(),
        "insured_full_name": name,
        "insured_birth_date": born.isoformat(),
        "phones": [phone],
        "relationship": relationship,
        "coverage_notes": "Амбулаторна допомога, лабораторні дослідження, медикаменти.",
    }


def registry() -> list[dict[str, object]]:
    own = [
        registry_row("UA-B-000001", READER_PHONES[0], "self", "Коваленко Олена Петрівна"),
        # A child of eight: a parent sees a child's card until the child is of age.
        registry_row(
            "UA-B-000002",
            READER_PHONES[0],
            "child",
            "Коваленко Марко Андрійович",
            born=now().date() - timedelta(days=8 * 365),
        ),
        registry_row("UA-B-000003", READER_PHONES[1], "spouse", "Коваленко Андрій Іванович"),
        registry_row("UA-B-000004", WRITER_PHONE, "self", "Шевчук Ірина Олегівна"),
    ]
    others = [
        registry_row(f"UA-O-{n:06d}", f"+38050{n:07d}", "self", f"Інша Особа {n}")
        for n in range(OTHER_CARDS)
    ]
    return own + others


async def confirmed_user(
    services: Services, email: str, role: Role = Role.CUSTOMER
) -> UserDocument:
    created = await account.create_confirmed_user(
        passwords=services.passwords, email=email, password=PASSWORD, role=role
    )
    if isinstance(created, InvalidInput):
        raise RuntimeError(f"{email}: {created.problems}")
    return created


async def contact(user: UserDocument, kind: ContactKind, value: str, *, verified: bool) -> None:
    moment = now()
    await ContactDocument(
        user_id=user.id,
        kind=kind,
        value=value,
        verified=verified,
        verified_at=moment if verified else None,
        created_at=moment,
    ).insert()


def _windows() -> list[TimeWindow]:
    start = now() + timedelta(days=2)
    return [TimeWindow(start=start, end=start + timedelta(hours=3))]


def reader_forms(home: Address) -> list[requests.RequestForm]:
    """Four kinds in turn: what a person files over a few months."""
    home_id = str(home.id)
    kinds: list[requests.RequestForm] = [
        requests.CallbackForm(phone=None, preferred_time=None, topic="Питання щодо полісу"),
        requests.DoctorAppointmentForm(
            specialty="терапевт",
            reason="Температура, кашель",
            preferred_times=_windows(),
            home_visit=True,
            address_id=home_id,
        ),
        requests.MedicationsForm(
            items=[
                MedicationItem(name="Парацетамол", dosage="500 мг", quantity=2),
                MedicationItem(name="Ібупрофен", dosage="200 мг", quantity=1),
            ],
            delivery_address_id=home_id,
            comment=None,
            prescriptions=[],
        ),
        requests.LabTestsForm(
            tests=["Загальний аналіз крові", "Глюкоза"],
            preferred_times=_windows(),
            home_visit=False,
            address_id=None,
        ),
    ]
    return list(itertools.islice(itertools.cycle(kinds), READER_REQUESTS))


async def file_request(
    services: Services, user: UserDocument, form: requests.RequestForm
) -> RequestDocument:
    filed = await requests.create_request(
        services=services,
        caller=cli_caller(),
        user=user,
        form=form,
        idempotency_key=None,
        linked=lambda: policies.linked(user=user),
        own_contacts=lambda: contacts.list_contacts(user.id),  # type: ignore[arg-type]
    )
    if not isinstance(filed, RequestDocument):
        raise RuntimeError(f"filing failed: {filed}")
    return filed


async def seed_reader(services: Services, operator: UserDocument) -> None:
    reader = await confirmed_user(services, READER)
    changes = profile.ProfileChanges(
        last_name="Коваленко",
        first_name="Олена",
        middle_name="Петрівна",
        gender=Gender.FEMALE,
        birth_date=date(1988, 4, 12),
    )
    await profile.update_profile(user=reader, changes=changes)
    await contact(reader, ContactKind.PHONE, READER_PHONES[0], verified=True)
    await contact(reader, ContactKind.EMAIL, "olena.home@bench.example.com", verified=True)
    await contact(reader, ContactKind.PHONE, READER_PHONES[1], verified=True)
    await contact(reader, ContactKind.PHONE, "+380671110009", verified=False)
    home = Address(kind=AddressKind.HOME, city="Київ", street="Хрещатик", building="1В")
    work = Address(
        kind=AddressKind.ADDITIONAL,
        city="Київ",
        street="Велика Васильківська",
        building="72",
        apartment="401",
        postal_code="03150",
        note="Вхід з двору",
    )
    for fields in (home, work):
        if isinstance(await addresses.set_address(user=reader, fields=fields), InvalidInput):
            raise RuntimeError("bench address is invalid")
    home = reader.addresses[AddressKind.HOME]
    cards = await policies.link_policies(user=reader)
    for n, form in enumerate(reader_forms(home)):
        card = cards[n % len(cards)]
        await policies.select_policy(user=reader, policy_id=card.id)  # type: ignore[arg-type]
        filed = await file_request(services, reader, form)
        if n % 3 == 0:
            for status in (RequestStatus.IN_PROGRESS, RequestStatus.NEEDS_INFO):
                await requests.change_status(
                    services=services,
                    caller=cli_caller(),
                    user=operator,
                    request_id=filed.id,  # type: ignore[arg-type]
                    status=status,
                    comment="Уточніть, будь ласка, зручний час",
                    scheduled_at=None,
                )
    await policies.select_policy(user=reader, policy_id=cards[0].id)  # type: ignore[arg-type]


async def seed() -> None:
    settings = Settings()
    async with Database(settings) as database:
        services = Services.of(settings, database)
        report = await import_rows(caller=cli_caller(), rows=registry())
        if report.rejected:
            raise RuntimeError(f"bench registry rejected: {report.rejected}")
        operator = await confirmed_user(services, OPERATOR, Role.OPERATOR)
        await seed_reader(services, operator)
        writer = await confirmed_user(services, WRITER)
        await contact(writer, ContactKind.PHONE, WRITER_PHONE, verified=True)
        await policies.link_policies(user=writer)
        await confirmed_user(services, SIGNER)


if __name__ == "__main__":
    asyncio.run(seed())
