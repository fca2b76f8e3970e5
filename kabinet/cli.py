"""`kabinet serve | create-user | export-schema`."""

import asyncio
import logging

import click
import uvicorn

from kabinet.config import Settings
from kabinet.db import Database
from kabinet.documents import Role
from kabinet.i18n import Locale, translate
from kabinet.resolvers import account
from kabinet.resolvers.errors import InvalidInput
from kabinet.schema import build_schema


@click.group()
def main() -> None:
    """kabinet: the personal cabinet's GraphQL API."""


@main.command()
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(reload: bool) -> None:
    """Run the API server (embedded database unless KABINET_MONGODB_URI is set)."""
    settings = Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        "kabinet.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        reload=reload,
        proxy_headers=True,
    )


@main.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL SDL (the checked-in schema.graphql)."""
    click.echo(build_schema().as_str())


@main.command("create-user")
@click.option("--email", required=True, help="Sign-in email.")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.OPERATOR.value,
    show_default=True,
)
@click.password_option(help="Password; asked for when not given.")
def create_user(email: str, role: str, password: str) -> None:
    """Create a confirmed account, e.g. an operator or an administrator."""

    async def run() -> object:
        async with Database(Settings()):
            return await account.create_confirmed_user(
                email=email, password=password, role=Role(role)
            )

    outcome = asyncio.run(run())
    if isinstance(outcome, InvalidInput):
        reasons = "; ".join(
            f"{p.field}: {translate(p.key, Locale.EN, **p.params)}" for p in outcome.problems
        )
        raise click.ClickException(reasons)
    click.echo(f"created {role} {email}")


if __name__ == "__main__":
    main()
