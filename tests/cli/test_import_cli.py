"""`hie import` and `hie export` (API.md, "The command line"), run as an
operator would against fresh databases of each backend: a JSON file and CSV
files, every error printed with its place and a non-zero exit, a second run
that changes nothing, and the round trip: export, import into a fresh
database, export again, the same bytes."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from app.config import get_settings
from app.db import Database
from app.models import Adoption, Event, Innovation
from tests.databases import empty_database
from tests.test_cli import count, database, database_url, hie, last_line  # noqa: F401  (fixtures)

EXCHANGE = (
    "organisations",
    "create",
    "--exchange",
    "--name",
    "Health Innovation Exchange",
    "--kind",
    "other",
)

RECORDS = {
    "organisations": [
        {"external_ref": "org-sup", "name": "Thermal Ltd", "kind": "supplier", "region": "north_west"},
        {"external_ref": "org-trust", "name": "Wirral Trust", "kind": "nhs_trust", "region": "north_west"},
    ],
    "innovations": [
        {
            "external_ref": "inn-1",
            "name": "Induction sharps destroyer",
            "summary": "Melts needles in seconds.",
            "supplier_ref": "org-sup",
            "categories": ["medical_device", "digital"],
            "status": "published",
        }
    ],
    "adoptions": [
        {
            "external_ref": "ad-1",
            "innovation_ref": "inn-1",
            "organisation_ref": "org-trust",
            "lead": {"name": "Dr Asha Patel", "email": "asha.patel@nhs.example"},
            "stage": "needs_assessment",
        }
    ],
}


def test_a_json_import_prints_a_summary_and_a_second_run_changes_nothing(
    database: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    hie(*EXCHANGE)
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(RECORDS))
    first = hie("import", str(path))
    assert last_line(first) == "imported: 4 created, 0 updated, 0 unchanged"
    assert "adoptions" in first.stderr and "created" in first.stderr  # the summary table
    with database.session() as session:
        events = count(session, Event)
        adoption = session.exec(select(Adoption).where(Adoption.external_ref == "ad-1")).one()
        assert adoption.stage == "needs_assessment"
    second = hie("import", str(path))
    assert last_line(second) == "imported: 0 created, 0 updated, 4 unchanged"
    with database.session() as session:
        assert count(session, Event) == events


def test_errors_are_printed_with_file_and_line_and_nothing_is_written(
    database: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    hie(*EXCHANGE)
    (tmp_path / "organisations.csv").write_text(
        "external_ref,name,kind,region\norg-sup,Thermal Ltd,supplier,\n"
    )
    (tmp_path / "innovations-2026.csv").write_text(
        "external_ref,name,summary,supplier_ref,care_settings\n"
        "inn-1,Device,Good,org-sup,community\n"
        "inn-2,Device,Bad,org-sup,community; moon_base\n"
        "inn-3,Device,Bad,org-nobody,community\n"
    )
    files = [str(tmp_path / name) for name in ("innovations-2026.csv", "organisations.csv")]
    result = hie("import", *files, ok=False)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert any(line.startswith("innovations-2026.csv:3 care_settings[1]: ") for line in lines), result.stderr
    assert any(line.startswith("innovations-2026.csv:4 supplier_ref: ") for line in lines), result.stderr
    assert "2 errors: nothing was imported." in result.stderr
    with database.session() as session:
        assert count(session, Innovation) == 0


def test_without_an_exchange_organisation_it_says_what_to_do(database_url: str, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "empty.json"
    path.write_text("{}")
    result = hie("import", str(path), ok=False)
    assert result.exit_code == 1
    assert "hie organisations create --exchange" in result.stderr


def test_a_key_imports_with_its_organisations_rights(database: Database, tmp_path: Path) -> None:  # noqa: F811
    trust = last_line(hie("organisations", "create", "--name", "Trust", "--kind", "nhs_trust"))
    key = last_line(hie("api-keys", "create", "--organisation", trust))
    path = tmp_path / "orgs.json"
    path.write_text(json.dumps({"organisations": RECORDS["organisations"]}))
    result = hie("import", str(path), "--key", key, ok=False)
    assert result.exit_code == 1
    assert "organisations[0]: Only the exchange's admins may do this." in result.stderr


@contextmanager
def fresh(url: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Another empty, migrated database of the same backend, with its exchange, as DATABASE_URL."""
    backend = make_url(url).get_backend_name()
    with empty_database(backend, folder) as other:
        monkeypatch.setenv("DATABASE_URL", other)
        get_settings.cache_clear()
        hie("migrate")
        hie(*EXCHANGE)
        try:
            yield other
        finally:
            monkeypatch.setenv("DATABASE_URL", url)
            get_settings.cache_clear()


def export_all(folder: Path, format: str) -> list[Path]:
    folder.mkdir()
    if format == "json":
        path = folder / "all.json"
        hie("export", "all", "--output", str(path))
        return [path]
    paths = []
    for kind in ("organisations", "innovations", "challenges", "adoptions"):
        paths.append(folder / f"{kind}.csv")
        hie("export", kind, "--format", "csv", "--output", str(paths[-1]))
    return paths


@pytest.mark.parametrize("format", ["json", "csv"])
def test_the_round_trip_is_exact(
    database_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    format: str,
) -> None:
    hie("seed", "--demo")  # every stage, gates, leads, challenges, refs of the exchange's own
    first = export_all(tmp_path / "first", format)
    with fresh(database_url, tmp_path, monkeypatch):
        imported = hie("import", *map(str, first))
        assert " 0 updated, 0 unchanged" in last_line(imported)
        second = export_all(tmp_path / "second", format)
    for before, after in zip(first, second, strict=True):
        assert before.read_text() == after.read_text(), before.name
    text = first[0].read_text() if format == "json" else (tmp_path / "first" / "adoptions.csv").read_text()
    assert "not_progressed" in text and "sustained" in text


def test_export_to_standard_output_is_json(database_url: str) -> None:  # noqa: F811
    hie(*EXCHANGE)
    hie("seed", "--demo")
    result = hie("export", "innovations")
    document = json.loads(result.stdout)
    assert set(document) == {"innovations"}
    assert all("supplier_ref" in record and "external_ref" in record for record in document["innovations"])
