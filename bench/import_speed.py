"""How long does `hie import` take for 100,000 innovations and 300,000 adoptions?

    python -m bench.import_speed --innovations 100000 --adoptions 300000 --db sqlite --db postgresql

The target (issue 6): under 2 minutes on each database. The file is made by
`bench/data.py` (organisations, innovations with their categories and care
settings, adoptions spread along the pipeline with gate records and leads),
written as `hie export` writes one (app/services/imports.py: references by
ref), JSON by default or CSV (`--format csv`: one file per kind). Then, for
each database: a fresh database migrated by the app's own migrations, the
exchange's organisation made by `hie organisations create --exchange`, and
`hie import` run as a subprocess, as an operator would, timed from start to
exit, with its own CPU time and its peak memory (from /proc, while it runs). The same
import is then run a second time, which must change nothing and write no
event (`--no-again` skips it). Counts in the database are checked.

Each adopting organisation's adoptions are led by its own champion (one
lead per organisation). The generator's archived innovations are imported as published: the exchange
opens no adoption of an archived innovation (app/services/adoptions.py).

Saved to bench/results/import-<db>.json; a summary is printed."""

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.services import imports
from bench import seed
from bench.data import Generator, Shape
from bench.machine import describe

HERE = Path(__file__).resolve().parent
TARGET_SECONDS = 120
DATABASES = ["sqlite", "postgresql"]
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
HIE = [sys.executable, "-m", "app.cli"]

console = Console(stderr=True)
cli = typer.Typer(add_completion=False)


# --- the file -------------------------------------------------------------------------


def records(shape: Shape, seed_value: int = 2026) -> dict[str, list[dict[str, Any]]]:
    """The import's records, made from bench/data.py's rows."""
    gen = Generator(shape, seed_value)
    refs: dict[Any, str] = {}
    organisations: list[dict[str, Any]] = []
    for rows in gen.organisations():
        for row in rows:
            refs[row["id"]] = ref = f"org-{len(refs)}"
            organisations.append(
                {k: row[k] for k in ("name", "kind", "region", "ods_code")} | {"external_ref": ref}
            )
    innovations: list[dict[str, Any]] = []
    for rows, _ in gen.innovations():
        for row in rows:
            refs[row["id"]] = ref = f"inn-{len(innovations)}"
            innovation = {k: row[k] for k in imports.EXPORTED_CSV["innovations"] if k in row}
            innovation |= {
                "external_ref": ref,
                "supplier_ref": refs[row["supplier_id"]],
                "status": "published" if row["status"] == "archived" else row["status"],
            }
            innovations.append(innovation)
    adoptions: list[dict[str, Any]] = []
    for rows, transitions in gen.adoptions():
        stopped = {t["adoption_id"]: t["reason_code"] for t in transitions if t["reason_code"]}
        for row in rows:
            # Each adopting organisation has its own champion, who leads its adoptions.
            org = refs[row["organisation_id"]]
            lead = (
                {"name": f"Lead of {org}", "email": f"lead.{org}@nhs.example"} if row["lead_name"] else None
            )
            adoptions.append(
                {
                    "external_ref": f"adopt-{len(adoptions)}",
                    "innovation_ref": refs[row["innovation_id"]],
                    "organisation_ref": org,
                    "lead": lead,
                    "gate": row["gate"],
                    "notes": row["notes"],
                    "stage": row["stage"],
                    "reason_code": stopped.get(row["id"]),
                }
            )
    return {"organisations": organisations, "innovations": innovations, "adoptions": adoptions}


def write_files(data: dict[str, list[dict[str, Any]]], folder: Path, format: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if format == "json":
        path = folder / "import.json"
        with path.open("w", encoding="utf-8") as out:
            imports.write_json(data.items(), out)
        return [path]
    paths = []
    for kind, rows in data.items():
        path = folder / f"{kind}.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            imports.write_csv(kind, rows, out)
        paths.append(path)
    return paths


# --- one run ----------------------------------------------------------------------------


@dataclass
class Ran:
    seconds: float
    cpu_seconds: float  # the command's own (user and system), whatever else the machine runs
    peak_mb: int
    stdout: str


def _hie(url: str, *args: str) -> Ran:
    """Run `hie` against `url`: wall seconds, its CPU seconds and peak memory
    (the kernel's high-water mark of its resident memory, VmHWM), read from
    /proc until it exits, and what it printed."""
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "warning"}
    peak_kb, cpu = 0, 0.0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen([*HIE, *args], env=env, stdout=out, stderr=err, text=True)
        while process.poll() is None:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            cpu = max(cpu, _cpu_seconds(process.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"hie {' '.join(args[:2])} failed ({process.returncode}):\n{stderr[-3000:]}")
    return Ran(seconds, cpu, peak_kb // 1024, stdout)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _high_water_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _fresh(db: str, work: Path, postgres_url: str) -> str:
    if db == "sqlite":
        return seed.create_sqlite(work / "import.db")
    name = make_url(postgres_url).set(database="bench_import").render_as_string(hide_password=False)
    return seed.create_postgres(name)


def _count(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = ("organisations", "innovations", "adoptions", "transitions", "events")
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    finally:
        engine.dispose()


def run_one(db: str, files: list[Path], work: Path, postgres_url: str, again: bool) -> dict[str, Any]:
    url = _fresh(db, work, postgres_url)
    _hie(
        url,
        "organisations",
        "create",
        "--exchange",
        "--name",
        "Health Innovation Exchange",
        "--kind",
        "other",
    )
    console.print(f"[bold]{db}[/bold]: importing {', '.join(f.name for f in files)}")
    first = _hie(url, "import", *[str(f) for f in files])
    after_first = _count(url)
    result: dict[str, Any] = {
        "seconds": round(first.seconds, 1),
        "cpu_seconds": round(first.cpu_seconds, 1),
        "peak_memory_mb": first.peak_mb,
        "summary": first.stdout.strip().splitlines()[-1],
        "rows": after_first,
    }
    if again:
        second = _hie(url, "import", *[str(f) for f in files])
        after_second = _count(url)
        result["again"] = {
            "seconds": round(second.seconds, 1),
            "cpu_seconds": round(second.cpu_seconds, 1),
            "peak_memory_mb": second.peak_mb,
            "summary": second.stdout.strip().splitlines()[-1],
            "new_events": after_second["events"] - after_first["events"],
        }
    if db == "postgresql":
        seed.drop_postgres(url)
    return result


# --- the command -------------------------------------------------------------------------


@cli.command()
def main(
    innovations: Annotated[int, typer.Option(help="Innovations in the file.")] = 100_000,
    adoptions: Annotated[int, typer.Option(help="Adoptions in the file.")] = 300_000,
    organisations: Annotated[
        int | None, typer.Option(help="Organisations (default: adoptions / 10).")
    ] = None,
    db: Annotated[list[str] | None, typer.Option(help="sqlite, postgresql; repeat for both.")] = None,
    format: Annotated[str, typer.Option(help="json, or csv (a file per kind).")] = "json",
    again: Annotated[bool, typer.Option(help="Import a second time: nothing may change.")] = True,
    postgres_url: Annotated[str, typer.Option(envvar="BENCH_POSTGRES_URL")] = DEFAULT_POSTGRES,
    work: Annotated[Path, typer.Option()] = HERE / "work" / "import",
    results: Annotated[Path, typer.Option()] = HERE / "results",
) -> None:
    databases = db or DATABASES
    full_size = innovations >= 100_000 and adoptions >= 300_000
    shape = Shape.for_n(adoptions, innovations=innovations, organisations=organisations)
    started = time.perf_counter()
    data = records(shape)
    files = write_files(data, work / format, format)
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    console.print(
        f"made {len(data['organisations']):,} organisations, {len(data['innovations']):,} innovations, "
        f"{len(data['adoptions']):,} adoptions: {size_mb:.0f} MB of {format} "
        f"in {time.perf_counter() - started:.0f} s"
    )
    del data
    results.mkdir(parents=True, exist_ok=True)
    table = Table(
        "database",
        "import (s)",
        "its CPU (s)",
        "peak MB",
        "again (s)",
        "new events",
        "target",
        title="hie import",
    )
    for name in databases:
        outcome = run_one(name, files, work, postgres_url, again)
        report = {
            "database": name,
            "format": format,
            "shape": {
                "organisations": shape.organisations,
                "innovations": innovations,
                "adoptions": adoptions,
            },
            "file_mb": round(size_mb, 1),
            "target_seconds": TARGET_SECONDS,
            # Judged only at the target's own size.
            "met": outcome["seconds"] < TARGET_SECONDS if full_size else None,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": describe(postgres_url),
            **outcome,
        }
        (results / f"import-{name}.json").write_text(json.dumps(report, indent=2) + "\n")
        second = outcome.get("again", {})
        table.add_row(
            name,
            f"{outcome['seconds']:.1f}",
            f"{outcome['cpu_seconds']:.1f}",
            str(outcome["peak_memory_mb"]),
            f"{second.get('seconds', '-')}",
            str(second.get("new_events", "-")),
            {True: "met", False: "MISSED", None: "not judged"}[report["met"]],
        )
        console.print(f"  {outcome['summary']}; rows: {outcome['rows']}")
    console.print(table)


if __name__ == "__main__":
    cli()
