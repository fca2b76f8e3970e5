"""`kabinet seed-demo`: a small registry and accounts so a person can try every flow."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from kabinet.auth.context import Caller
from kabinet.auth.passwords import PasswordHashing
from kabinet.clock import now
from kabinet.documents import ContactDocument, ContactKind, Relationship, Role
from kabinet.documents.policy import GUARDIAN_AGE_YEARS, shift_months
from kabinet.resolvers import account, policy_import, providers, registry_import
from kabinet.resolvers.errors import FieldErrorCode, InvalidInput
from kabinet.resolvers.registry_import import ImportReport, Registry

DEMO_REGISTRY = Path(__file__).parent.parent / "demo" / "policies.json"
# What the demo cards' programmes cover (issue 17): every demo card's programme is there.
DEMO_PROGRAMMES = Path(__file__).parent.parent / "demo" / "programmes.json"
# Twenty clinics, laboratories and pharmacies in Київ and Львів that take the demo
# registry's programmes.
DEMO_PROVIDERS = Path(__file__).parent.parent / "demo" / "providers.json"
DEMO_PASSWORD = "Demo-pass-1"  # noqa: S105 - printed for people trying the demo
DEMO_PHONE = "+380671234567"
TEMPLATE_YEAR = 2026


@dataclass(frozen=True, slots=True)
class DemoPhone:
    phone: str
    what_it_shows: str


# A phone for each case a person trying the cabinet may want to see; every registry row
# behind them is in kabinet/demo/policies.json. A phone confirmed by one account cannot be
# confirmed by another, so a new account gets one of several free ones.
DEMO_PHONES = (
    DemoPhone(
        DEMO_PHONE,
        "demo@example.com's confirmed phone: an own card and two children's, one of whom "
        "turns 18 in two weeks (the notice is sent at start; the card goes on the birthday)",
    ),
    *(
        DemoPhone(f"+38066123450{n}", "free for a new account: a card in force, so requests work")
        for n in (1, 2, 3)
    ),
    DemoPhone("+380501112233", "an expired card only: no active card, requests are refused"),
    DemoPhone("+380931234567", "no card: the lookup tells whom to call"),
)


@dataclass(frozen=True, slots=True)
class DemoAccount:
    email: str
    role: Role


DEMO_ACCOUNTS = (
    DemoAccount("demo@example.com", Role.CUSTOMER),
    DemoAccount("operator@example.com", Role.OPERATOR),
    DemoAccount("admin@example.com", Role.ADMIN),
)


def _in_this_year(row: dict[str, object]) -> dict[str, object]:
    """The registry's dates are written for TEMPLATE_YEAR; moved by whole years, so that
    the active cards are valid today whenever the demo is loaded."""
    years = now().year - TEMPLATE_YEAR
    moved = dict(row)
    for key in ("valid_from", "valid_to"):
        written = date.fromisoformat(str(row[key]))
        moved[key] = written.replace(year=written.year + years).isoformat()
    return moved


COMING_OF_AGE_IN = timedelta(days=14)


def _coming_of_age() -> dict[str, object]:
    """A child's card of the demo account whose child turns 18 two weeks after the demo is
    loaded: its guardian-access notice is due at once (guardians.announce_endings)."""
    birthday = now().date() + COMING_OF_AGE_IN
    year = now().year
    return {
        "number": "UA-2026-000103",
        "insurer": "Демо Страхування",
        "program": "Дитячий",
        "status": "active",
        "valid_from": date(year, 1, 1).isoformat(),
        "valid_to": date(year + 1, 12, 31).isoformat(),
        "insured_full_name": "Коваленко Дарина Андріївна",
        "insured_birth_date": shift_months(birthday, -12 * GUARDIAN_AGE_YEARS).isoformat(),
        "phones": [DEMO_PHONE],
        "relationship": Relationship.CHILD.value,
        "coverage_notes": "Педіатр, виклик лікаря додому, щеплення.",
    }


@dataclass(frozen=True, slots=True)
class DemoReport:
    policies: ImportReport
    providers: ImportReport


def _demo_file(path: Path, parse: Callable[[bytes, str], Registry | InvalidInput]) -> Registry:
    registry = parse(path.read_bytes(), path.name)
    if isinstance(registry, InvalidInput):  # pragma: no cover - the shipped files are valid
        raise TypeError(f"the demo file {path.name} is invalid")
    return registry


async def seed_demo(*, caller: Caller, passwords: PasswordHashing) -> DemoReport:
    """Load the demo registry with its programmes, the provider directory and the demo
    accounts; running it again changes nothing new."""
    registry = _demo_file(DEMO_REGISTRY, policy_import.parse_registry)
    programmes = _demo_file(DEMO_PROGRAMMES, policy_import.parse_registry)
    report = await policy_import.import_rows(
        caller=caller,
        rows=[*(_in_this_year(row) for row in registry.rows), _coming_of_age()],
        programmes=programmes.sections.get(policy_import.PROGRAMMES),
    )
    directory = await providers.import_registry(
        caller=caller, registry=_demo_file(DEMO_PROVIDERS, registry_import.parse_registry)
    )
    for demo in DEMO_ACCOUNTS:
        created = await account.create_confirmed_user(
            passwords=passwords, email=demo.email, password=DEMO_PASSWORD, role=demo.role
        )
        if isinstance(created, InvalidInput):
            if [p.code for p in created.problems] != [FieldErrorCode.EMAIL_TAKEN]:
                raise ValueError(f"demo account {demo.email}: {created.problems}")
            continue
        if demo.role is Role.CUSTOMER:
            await ContactDocument.confirmed(created.id, ContactKind.PHONE, DEMO_PHONE).insert()
    return DemoReport(policies=report, providers=directory)
