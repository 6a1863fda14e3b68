"""`hie`: the command line for operators and scripts. Each command prints
what a script needs on its last line of standard output."""

import gc
import os
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.config import get_settings
from app.db import Database
from app.errors import DomainError, ValidationFailed
from app.models.api_key import ApiKeyCreate
from app.models.organisation import OrganisationCreate
from app.models.user import UserCreate
from app.models.vocabulary import OrganisationKind, Region, Role, Scope

cli = typer.Typer(help="Health Innovation Exchange", no_args_is_help=True)
organisations_cli = typer.Typer(help="Organisations", no_args_is_help=True)
api_keys_cli = typer.Typer(help="API keys", no_args_is_help=True)
users_cli = typer.Typer(help="Users", no_args_is_help=True)
applications_cli = typer.Typer(help="Applications to join the exchange", no_args_is_help=True)
cli.add_typer(organisations_cli, name="organisations")
cli.add_typer(api_keys_cli, name="api-keys")
cli.add_typer(users_cli, name="users")
cli.add_typer(applications_cli, name="applications")

err = Console(stderr=True)


def _database() -> Database:
    return Database(get_settings())


def _fail(exc: DomainError) -> None:
    err.print(f"[red]{exc.title}:[/red] {exc.detail}")
    raise typer.Exit(code=1)


# How long uvicorn's supervisor waits for a worker to answer its health
# check before killing it. A worker answers only once it has imported the
# app: uvicorn's 5 seconds killed and restarted them forever on a busy
# machine (tests/concurrency found it); a hung worker is still replaced.
WORKER_HEALTHCHECK_SECONDS = 60


@cli.command()
def serve(
    host: Annotated[str, typer.Option(envvar="HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(envvar="WEB_CONCURRENCY")] = 1,
) -> None:
    """Run the service with uvicorn, and the webhook worker beside it unless
    WEBHOOK_WORKER_IN_PROCESS=false (then run `hie worker` on its own)."""
    import uvicorn

    from app import logs
    from app.config import InsecureSettings

    settings = get_settings()
    try:
        settings.check_secrets()
    except InsecureSettings as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    logs.configure(settings)
    metrics_dir = _metrics_folder(workers)
    webhook_worker = None
    if settings.webhook_worker_in_process:
        from app import worker as worker_module

        webhook_worker = worker_module.start_in_thread(settings)
    # uvicorn shuts down gracefully on SIGTERM, then raises it again for the
    # handler it found: the default one killed the process there, before the
    # lines below stopped the webhook worker, and told the orchestrator it
    # was killed (tests/concurrency/test_crash.py). Ending here is the stop asked for.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            log_level=settings.log_level,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
            log_config=None,  # uvicorn's loggers go through app/logs.py's handler
            access_log=False,  # it would log raw paths, set-password tokens and all
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        if webhook_worker is not None:
            thread, stop = webhook_worker
            stop.set()
            thread.join(timeout=settings.webhook_timeout_seconds + 5)


def _exit_cleanly(*_: object) -> None:
    raise SystemExit(0)


def _metrics_folder(workers: int) -> str | None:
    """With several workers, a fresh folder where each writes its metrics
    for /metrics to add up (app/metrics.py); None when there is one, or when
    PROMETHEUS_MULTIPROC_DIR already names one (then its owner empties it)."""
    if workers < 2 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    folder = tempfile.mkdtemp(prefix="hie-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # the workers inherit it
    return folder


@cli.command()
def worker() -> None:
    """Deliver webhooks until stopped (SIGTERM or Ctrl-C). Any number of
    workers may run at once, on any machines that reach the database."""
    import signal
    import threading

    from app import worker as worker_module

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    database = _database()
    err.print("Delivering webhooks; stop with Ctrl-C.")
    try:
        stats = worker_module.run_forever(database, get_settings(), stop)
    finally:
        database.dispose()
    print(f"stopped: {stats.delivered} delivered")


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


@applications_cli.command("purge")
def purge_applications() -> None:
    """Delete applications decided longer ago than APPLICATION_RETENTION_DAYS
    (two years): the privacy notice's promise. Each new application does the
    same, so running this daily only matters when few arrive."""
    from app.services import applications

    settings = get_settings()
    with _database().transaction() as session:
        deleted = applications.purge(session, settings)
    print(f"{deleted} applications deleted")


@cli.command("import")
def import_(
    files: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, help="A JSON file, or CSV files (one per kind)."),
    ],
    kind: Annotated[
        str | None, typer.Option(help="The kind of records a CSV file holds, when its name does not say.")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            envvar="HIE_API_KEY", help="Import as this API key would, with its organisation's rights."
        ),
    ] = None,
    as_admin: Annotated[
        bool,
        typer.Option("--as-admin", help="Import as an admin of the exchange's organisation (the default)."),
    ] = False,
) -> None:
    """Import organisations, innovations, challenges and adoptions keyed by
    external_ref: all or nothing; every error is printed with its place."""
    from app.services import api_keys, imports

    if key and as_admin:
        err.print("Give --key or --as-admin, not both.")
        raise typer.Exit(code=2)
    with ExitStack() as opened:
        read = imports.read_files(files, kind, opened)
        # No cycle collection while a one-shot process imports: the parsed
        # file and what the import learns of each record live to the end,
        # and the collector rescanned that growing heap again and again
        # (over a quarter of a big import's time, with the file frozen out of it)
        # to find next to nothing: 501 objects in cycles after 86,000
        # records (bench/RESULTS.md).
        gc.disable()
        opened.callback(gc.enable)
        try:
            with _database().transaction() as session, _import_progress(read.totals) as advance:
                principal = (
                    api_keys.authenticate(session, key) if key else imports.command_line_principal(session)
                )
                principal.require_scope(Scope.write)
                result = imports.run(session, principal, read.sources, errors=read.errors, progress=advance)
        except ValidationFailed as exc:
            for error in exc.errors:
                sys.stderr.write(f"{error['field']}: {error['message']}\n")
            err.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(code=1) from None
        except DomainError as exc:
            _fail(exc)
    table = Table("kind", "created", "updated", "unchanged", title="Imported")
    for name in imports.KINDS:
        counts = result.of(name)
        table.add_row(name, str(counts.created), str(counts.updated), str(counts.unchanged))
    err.print(table)
    totals = [
        sum(getattr(result.of(name), n) for name in imports.KINDS)
        for n in ("created", "updated", "unchanged")
    ]
    print(f"imported: {totals[0]} created, {totals[1]} updated, {totals[2]} unchanged")


@contextmanager
def _import_progress(totals: dict[str, int]) -> Iterator[Callable[[str, int], None]]:
    """A Rich progress bar per kind (on standard error); yields the callback that advances them."""
    from app.services.imports import KINDS

    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=not err.is_terminal,
    ) as progress:
        tasks = {kind: progress.add_task(kind, total=totals.get(kind)) for kind in KINDS if kind in totals}
        yield lambda kind, done: progress.advance(tasks[kind], done) if kind in tasks else None


@cli.command("export")
def export(
    kind: Annotated[
        str, typer.Argument(help="organisations, innovations, challenges, adoptions, or all (JSON).")
    ],
    format: Annotated[
        str | None, typer.Option("--format", help="json or csv (from --output's name if not given).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The file to write; standard output if not given.")
    ] = None,
    key: Annotated[
        str | None, typer.Option(envvar="HIE_API_KEY", help="Export what this API key may see, its refs.")
    ] = None,
) -> None:
    """Write records as `hie import` reads them back (references by ref)."""
    from app.services import api_keys, imports

    kinds = list(imports.KINDS) if kind == "all" else [kind]
    chosen = format or ("csv" if output and output.suffix.lower() == ".csv" else "json")
    if any(k not in imports.KINDS for k in kinds) or chosen not in ("json", "csv"):
        err.print(f"Export one of {', '.join(imports.KINDS)} or all, as json or csv.")
        raise typer.Exit(code=2)
    if chosen == "csv" and len(kinds) > 1:
        err.print("CSV holds one kind a file: export each kind.")
        raise typer.Exit(code=2)
    database = _database()
    try:
        with database.session(write=False) as session, ExitStack() as opened:
            principal = (
                api_keys.authenticate(session, key) if key else imports.command_line_principal(session)
            )
            out = (
                opened.enter_context(output.open("w", encoding="utf-8", newline="")) if output else sys.stdout
            )
            if chosen == "csv":
                count = imports.write_csv(kinds[0], imports.export(session, principal, kinds[0]), out)
            else:
                count = imports.write_json(((k, imports.export(session, principal, k)) for k in kinds), out)
    except DomainError as exc:
        _fail(exc)
    finally:
        database.dispose()
    if output:
        print(f"exported {count} records to {output}")


@cli.command()
def backup(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="The file to write (replaced if there).")],
) -> None:
    """Copy the whole database to FILE while the service runs: SQLite's
    online backup, or pg_dump's custom format on PostgreSQL."""
    from app import backups

    try:
        backups.backup(get_settings().database_url, file)
    except backups.BackupError as exc:
        err.print(f"Not backed up: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    print(f"backed up to {file}")


@cli.command()
def restore(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="A file `hie backup` wrote.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds tables.")
    ] = False,
) -> None:
    """Replace the database with a backup (stop the service first; then
    `hie migrate` brings an older backup to the newest schema)."""
    from app import backups

    try:
        backups.restore(get_settings().database_url, file, force=force)
    except backups.BackupError as exc:
        err.print(f"Not restored: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    print(f"restored from {file}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
