"""`kabinet serve | create-user | export-schema | schema-changes | settings-doc | ...`.

Each command imports what it needs when it runs: the database layer and the embedded
engine cost seconds of CPU to import, which `kabinet --help` should not pay.
"""

import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kabinet.roles import Role

if TYPE_CHECKING:
    from kabinet.auth.context import Caller
    from kabinet.resolvers.errors import FieldProblem, InvalidInput
    from kabinet.resolvers.registry_import import ImportReport, Registry

    # How a registry file is read, and imported (policy_import, providers).
    type Parser = Callable[[bytes, str], Registry | InvalidInput]
    type Importer = Callable[..., Awaitable[ImportReport]]


@click.group()
def main() -> None:
    """kabinet: the personal cabinet's GraphQL API."""


# How long a stopping `kabinet serve` lets requests in flight finish.
SHUTDOWN_GRACE_SECONDS = 5


@main.command()
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(reload: bool) -> None:
    """Run the API server (embedded database unless KABINET_MONGODB_URI is set)."""
    import uvicorn

    from kabinet.config import Settings
    from kabinet.wire import WS_PER_MESSAGE_DEFLATE

    settings = Settings()
    uvicorn.run(
        "kabinet.app:serve_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        reload=reload,
        # The embedded database's server stops through asyncio.Server.abort_clients,
        # which uvloop's server lacks; a real MongoDB leaves the choice to uvicorn.
        loop="asyncio" if settings.mongodb_uri is None else "auto",
        # Only a load balancer named in KABINET_FORWARDED_ALLOW_IPS may say who the client
        # is: anyone else could pick the IP the per-IP rate limits count.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        ws_max_size=settings.max_body_bytes,  # a WebSocket message is a body too
        ws_per_message_deflate=WS_PER_MESSAGE_DEFLATE,
        timeout_keep_alive=settings.keepalive_timeout_seconds,
        # An event stream never ends by itself: a stopping process cancels what still runs
        # after this long (its clients reconnect elsewhere with `since`), within the 10 s
        # Docker gives before it kills.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        log_config=None,  # kabinet.logs configures every logger, uvicorn's too
        access_log=False,  # kabinet.observe writes it, without query strings
    )


@main.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL SDL (the checked-in schema.graphql)."""
    from kabinet.schema import build_schema

    click.echo(build_schema().as_str())


PUBLISHED_SCHEMA = Path("docs/schema/published.graphql")
API_GUIDE = Path("docs/api-guide.md")


@main.command("schema-changes")
@click.option(
    "--published",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=PUBLISHED_SCHEMA,
    show_default=True,
    help="The published contract.",
)
@click.option(
    "--update",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Rewrite the changelog's Unreleased part in this Markdown file (docs/api-guide.md) "
    "instead of printing it.",
)
def schema_changes(published: Path, update: Path | None) -> None:
    """Print what the schema changed since the published contract; exit 1 if it breaks it."""
    from kabinet.schema import build_schema
    from kabinet.schema.contract import compare, unreleased, with_unreleased

    changes = compare(published.read_text(encoding="utf-8"), build_schema().as_str())
    if update is None:
        click.echo(unreleased(changes), nl=False)
    else:
        try:
            update.write_text(
                with_unreleased(update.read_text(encoding="utf-8"), changes), encoding="utf-8"
            )
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"updated {update}")
    if changes.breaking:
        raise click.ClickException(_breaking_message(changes.breaking))


@main.command("publish-schema")
@click.option(
    "--published",
    type=click.Path(dir_okay=False, path_type=Path),
    default=PUBLISHED_SCHEMA,
    show_default=True,
    help="The published contract, replaced by the current schema.",
)
@click.option(
    "--guide",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=API_GUIDE,
    show_default=True,
    help="The Markdown file whose changelog gets the dated entry.",
)
def publish_schema(published: Path, guide: Path) -> None:
    """Make the current schema the published contract, its changes a dated changelog entry."""
    from kabinet.clock import now
    from kabinet.schema import build_schema
    from kabinet.schema.contract import compare, with_release

    current = build_schema().as_str()
    contract = published.read_text(encoding="utf-8") if published.exists() else current
    changes = compare(contract, current)
    if changes.breaking:
        raise click.ClickException(_breaking_message(changes.breaking))
    try:
        document = with_release(guide.read_text(encoding="utf-8"), changes, now().date())
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    guide.write_text(document, encoding="utf-8")
    published.parent.mkdir(parents=True, exist_ok=True)
    published.write_text(current + "\n", encoding="utf-8")
    click.echo(f"published {published}; changelog entry in {guide}")


def _breaking_message(breaking: tuple[str, ...]) -> str:
    listed = "".join(f"\n  - {text}" for text in breaking)
    return (
        f"the schema breaks the published contract:{listed}\n"
        "Mark what is to go `@deprecated(reason: ...)`, publish that, and remove it later."
    )


@main.command("rotate-link-key")
def rotate_link_key() -> None:
    """Replace the key that signs download links: every link issued so far stops opening."""
    from kabinet.config import Settings
    from kabinet.db import Database
    from kabinet.resolvers.links import RELOAD, rotate_key

    async def run() -> None:
        async with Database(Settings()):
            await rotate_key(cli_caller())

    asyncio.run(run())
    minutes = int(RELOAD.total_seconds() // 60)
    click.echo(
        "rotated: links issued before no longer open; running servers sign with the new key "
        f"within {minutes} minute{'s' if minutes != 1 else ''}"
    )


@main.command("settings-doc")
@click.option(
    "--update",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Rewrite the table in this Markdown file (docs/deployment.md) instead of printing it.",
)
def settings_doc(update: Path | None) -> None:
    """Print every KABINET_* setting with its default as a Markdown table."""
    from kabinet.settings_doc import settings_table, with_table

    if update is None:
        click.echo(settings_table(), nl=False)
        return
    try:
        update.write_text(with_table(update.read_text(encoding="utf-8")), encoding="utf-8")
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"updated {update}")


def cli_caller() -> "Caller":
    """Actions from the command line are audited as having no account behind them."""
    from kabinet.auth.context import Caller
    from kabinet.i18n import Locale

    return Caller(
        user=None,
        session=None,
        locale=Locale.EN,
        ip="cli",
        user_agent="kabinet-cli",
        request_id=f"cli-{uuid.uuid4().hex}",
    )


@main.command("import-policies")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_policies(file: Path) -> None:
    """Load an insurer's registry (CSV or JSON, see docs/policy-import.md), upserting by number."""
    from kabinet.resolvers import policy_import

    _import_registry(file, policy_import.parse_registry, policy_import.import_registry)


@main.command("import-providers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_providers(file: Path) -> None:
    """Load the provider directory (CSV or JSON, see docs/provider-import.md), upserting by
    code."""
    from kabinet.resolvers import providers, registry_import

    _import_registry(file, registry_import.parse_registry, providers.import_registry)


def _import_registry(file: Path, parse: "Parser", import_registry: "Importer") -> None:
    """Read ``file``, import it with progress on stderr, print the counts; exit 1 when a
    row was rejected."""
    from kabinet.config import Settings
    from kabinet.db import Database
    from kabinet.resolvers.errors import InvalidInput

    registry = parse(file.read_bytes(), file.name)
    if isinstance(registry, InvalidInput):
        raise click.ClickException(_reasons(registry.problems))

    async def run() -> "ImportReport":
        async with Database(Settings()):
            return await import_registry(
                caller=cli_caller(), registry=registry, progress=ImportProgress()
            )

    report = asyncio.run(run())
    click.echo(report.summary())
    if report.rejected:
        click.echo(f"rejected: {_reasons(report.rejected)}")
        raise SystemExit(1)


class ImportProgress:
    """Prints rows done / total, the rate and the time left to stderr after each batch."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = done / elapsed
        left = (total - done) / rate if rate else 0.0
        click.echo(f"{done}/{total} rows, {rate:.0f} rows/s, about {left:.0f} s left", err=True)


@main.command("move-data")
@click.option(
    "--to",
    "uri",
    required=True,
    help="The MongoDB to move into, e.g. mongodb://db1,db2,db3/?replicaSet=rs0.",
)
@click.option(
    "--database",
    "database_name",
    help="The database there (default KABINET_DATABASE).",
)
def move_data(uri: str, database_name: str | None) -> None:
    """Copy the embedded database (in KABINET_DATA_DIR) into another, empty, MongoDB:
    every collection and file, checked by count and checksum, with our indexes. Stop
    `kabinet serve` first; then point KABINET_MONGODB_URI at the target."""
    from pymongo.errors import PyMongoError

    from kabinet.config import Settings
    from kabinet.move import ChecksumMismatch, TargetNotEmpty, move_embedded

    settings = Settings()
    try:
        moved = asyncio.run(
            move_embedded(settings, uri, database_name or settings.database, report=click.echo)
        )
    except (TargetNotEmpty, ChecksumMismatch) as refused:
        raise click.ClickException(str(refused)) from refused
    except PyMongoError as error:
        raise click.ClickException(f"the move failed: {error}") from error
    click.echo(
        f"moved {len(moved)} collections, {sum(c.count for c in moved)} documents; "
        f"now set KABINET_MONGODB_URI to the target and KABINET_DATABASE="
        f"{database_name or settings.database}"
    )


@main.command("seed-demo")
def seed_demo() -> None:
    """Load a small demo registry and demo accounts (password Demo-pass-1)."""
    from kabinet.auth.passwords import PasswordHashing
    from kabinet.config import Settings
    from kabinet.db import Database
    from kabinet.resolvers import demo

    async def run() -> "demo.DemoReport":
        settings = Settings()
        async with Database(settings), PasswordHashing.of(settings) as passwords:
            return await demo.seed_demo(caller=cli_caller(), passwords=passwords)

    report = asyncio.run(run())
    for name, counts in (("policies", report.policies), ("providers", report.providers)):
        click.echo(f"{name}: created {counts.created}, updated {counts.updated}")
    for account_ in demo.DEMO_ACCOUNTS:
        click.echo(f"{account_.role.value:9} {account_.email} / {demo.DEMO_PASSWORD}")
    click.echo("phones to try (codes are printed to the server's log without an SMS gateway):")
    for phone in demo.DEMO_PHONES:
        click.echo(f"  {phone.phone}  {phone.what_it_shows}")


def _reasons(problems: "list[FieldProblem]") -> str:
    from kabinet.i18n import Locale, translate

    return "; ".join(f"{p.field}: {translate(p.key, Locale.EN, **p.params)}" for p in problems)


@main.command("create-user")
@click.option("--email", required=True, help="Sign-in email.")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.OPERATOR.value,
    show_default=True,
)
@click.option(
    "--password",
    help="The password (visible to other users of the machine in the process list: "
    "prefer --password-stdin or the prompt).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input, for scripts.",
)
def create_user(email: str, role: str, password: str | None, password_stdin: bool) -> None:
    """Create a confirmed account, e.g. an operator or an administrator. Without --password
    or --password-stdin it asks for the password twice."""
    from kabinet.auth.passwords import PasswordHashing
    from kabinet.config import Settings
    from kabinet.db import Database
    from kabinet.resolvers import account
    from kabinet.resolvers.errors import InvalidInput

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def run() -> object:
        settings = Settings()
        async with Database(settings), PasswordHashing.of(settings) as passwords:
            return await account.create_confirmed_user(
                passwords=passwords, email=email, password=password, role=Role(role)
            )

    outcome = asyncio.run(run())
    if isinstance(outcome, InvalidInput):
        raise click.ClickException(_reasons(outcome.problems))
    click.echo(f"created {role} {email}")


if __name__ == "__main__":
    main()
