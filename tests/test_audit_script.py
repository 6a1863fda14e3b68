"""scripts/audit.py's fallback to PyPI's project JSON, where the
per-version JSON that pip-audit asks for is not to be had."""

import importlib.util
from pathlib import Path
from types import ModuleType

import httpx

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "audit.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_script", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def client(newest: str, vulnerabilities: list[dict[str, object]]) -> httpx.Client:
    body = {"info": {"version": newest}, "vulnerabilities": vulnerabilities}
    return httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=body)))


def test_the_newest_release_is_judged_by_its_known_vulnerabilities() -> None:
    audit = load()
    known = [{"id": "PYSEC-1", "withdrawn": None}, {"id": "PYSEC-2", "withdrawn": "2026-01-01"}]
    assert audit.newest_release_vulnerabilities(client("2.0", known), "pkg", "2.0") == ["PYSEC-1"]
    assert audit.newest_release_vulnerabilities(client("2.0", []), "pkg", "2.0") == []


def test_an_older_release_is_not_audited_rather_than_passed() -> None:
    audit = load()
    assert audit.newest_release_vulnerabilities(client("2.0", []), "pkg", "1.9") is None
    assert audit.installed_version("could not be audited: redis (7.4.1)") == "7.4.1"
