"""`hie`: the command line for operators and scripts. Each command prints
what a script needs on its last line of standard output."""

import sys
import uuid
from typing import Annotated

import typer
from rich.console import Console

from app.config import get_settings
from app.db import Database
from app.errors import DomainError
from app.models.api_key import ApiKeyCreate
from app.models.organisation import OrganisationCreate
from app.models.user import UserCreate
from app.models.vocabulary import OrganisationKind, Region, Role, Scope

cli = typer.Typer(help="Health Innovation Exchange", no_args_is_help=True)
organisations_cli = typer.Typer(help="Organisations", no_args_is_help=True)
api_keys_cli = typer.Typer(help="API keys", no_args_is_help=True)
users_cli = typer.Typer(help="Users", no_args_is_help=True)
cli.add_typer(organisations_cli, name="organisations")
cli.add_typer(api_keys_cli, name="api-keys")
cli.add_typer(users_cli, name="users")

err = Console(stderr=True)


def _database() -> Database:
    return Database(get_settings())


def _fail(exc: DomainError) -> None:
    err.print(f"[red]{exc.title}:[/red] {exc.detail}")
    raise typer.Exit(code=1)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(envvar="HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(envvar="WEB_CONCURRENCY")] = 1,
) -> None:
    """Run the service with uvicorn."""
    import uvicorn

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level=get_settings().log_level,
    )


@cli.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    from app.migrations import upgrade

    upgrade(get_settings().database_url)
    print("migrated")


@cli.command()
def seed(demo: Annotated[bool, typer.Option("--demo", help="Load the demonstration data.")] = False) -> None:
    """Load demonstration data. Running it again changes nothing."""
    if not demo:
        err.print("Say what to seed: --demo")
        raise typer.Exit(code=2)
    from app.services import demo as demo_data

    with _database().transaction() as session:
        counts = demo_data.seed(session)
    for kind, count in counts.items():
        err.print(f"{kind}: {count} new")
    if get_settings().environment == "development":
        err.print("Demo sign-ins (development only):", markup=False)
        for who, email, password in demo_data.demo_sign_ins():
            err.print(f"  {who}: {email} / {password}", markup=False, highlight=False, soft_wrap=True)
    print(f"seeded {sum(counts.values())} new records")


@organisations_cli.command("create")
def create_organisation(
    name: Annotated[str, typer.Option()],
    kind: Annotated[OrganisationKind, typer.Option()],
    region: Annotated[Region | None, typer.Option()] = None,
    ods_code: Annotated[str | None, typer.Option()] = None,
    exchange: Annotated[
        bool,
        typer.Option(
            "--exchange", help="The exchange's own: its admin-role users are the exchange's admins."
        ),
    ] = False,
) -> None:
    """Create an organisation; prints its id."""
    from app.services import organisations

    try:
        data = OrganisationCreate(name=name, kind=kind, region=region, ods_code=ods_code)
        with _database().transaction() as session:
            org = organisations.create(session, None, data, is_exchange=exchange)
    except DomainError as exc:
        _fail(exc)
    print(org.id)


@api_keys_cli.command("create")
def create_api_key(
    organisation: Annotated[uuid.UUID, typer.Option(help="The organisation's id.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: read, write, admin.")] = "read,write",
    name: Annotated[str, typer.Option()] = "command line",
) -> None:
    """Issue an API key; prints the key, which is shown only this once."""
    from app.services import api_keys

    try:
        wanted = [Scope(s.strip()) for s in scopes.split(",") if s.strip()]
    except ValueError:
        err.print(f"Scopes are {', '.join(Scope)}.")
        raise typer.Exit(code=2) from None
    try:
        with _database().transaction() as session:
            _, secret = api_keys.issue(
                session, None, ApiKeyCreate(organisation_id=organisation, name=name, scopes=wanted)
            )
    except DomainError as exc:
        _fail(exc)
    print(secret)


@users_cli.command("create")
def create_user(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    organisation: Annotated[uuid.UUID, typer.Option()],
    role: Annotated[Role, typer.Option()] = Role.member,
) -> None:
    """Add a user; the password is read from standard input."""
    from app.services import users

    password = (
        sys.stdin.readline().rstrip("\n")
        if not sys.stdin.isatty()
        else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    try:
        data = UserCreate(email=email, name=name, organisation_id=organisation, role=role)
        with _database().transaction() as session:
            user = users.create(session, None, data, password)
    except DomainError as exc:
        _fail(exc)
    print(user.id)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
