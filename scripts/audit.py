"""Known vulnerabilities in the installed dependencies: `make audit`, and CI.

pip-audit audits what is installed in this environment (`--local`, the
project itself left out) against PyPI's vulnerability data: the versions of
requirements.lock, which `make install` takes as constraints. It asks PyPI's
JSON API for each installed *version* (/pypi/NAME/VERSION/json); where
that answer is not to be had (this workplace's route to PyPI serves only
/pypi/NAME/json), pip-audit skips the package, which proves nothing. For
those, this falls back to the project's own JSON, whose `vulnerabilities`
are the newest release's: they settle the question when the installed
version is that release (`make install` takes the newest allowed), and
anything else is listed as not audited. Fails (exit 1) on any known
vulnerability; says loudly what it could not audit.
"""

import json
import subprocess
import sys
from pathlib import Path

import httpx

PYPI = "https://pypi.org/pypi/{name}/json"
PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


def pip_audit() -> list[dict[str, object]]:
    run = subprocess.run(
        [str(PIP_AUDIT), "--local", "--skip-editable", "--format", "json", "--progress-spinner", "off"],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode not in (0, 1):  # 1: vulnerabilities found, reported below
        sys.exit(f"pip-audit failed:\n{run.stderr}")
    dependencies: list[dict[str, object]] = json.loads(run.stdout)["dependencies"]
    return dependencies


def installed_version(skip_reason: str) -> str:
    """pip-audit names it last, in brackets: "... could not be audited: name (1.2.3)"."""
    return skip_reason.rsplit("(", 1)[-1].rstrip(")")


def newest_release_vulnerabilities(client: httpx.Client, name: str, version: str) -> list[str] | None:
    """The ids of the vulnerabilities PyPI knows in `version`, when it is the
    newest release; None when it cannot tell."""
    answer = client.get(PYPI.format(name=name))
    if answer.status_code != 200:
        return None
    project = answer.json()
    if project["info"]["version"] != version:
        return None
    return [v["id"] for v in project.get("vulnerabilities") or [] if not v.get("withdrawn")]


def main() -> int:
    found: dict[str, list[str]] = {}
    audited, unaudited = 0, []
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        for dependency in pip_audit():
            name = str(dependency["name"])
            if "editable" in str(dependency.get("skip_reason", "")):
                continue  # the project itself
            if "skip_reason" not in dependency:
                audited += 1
                ids = [str(v["id"]) for v in dependency.get("vulns", [])]  # type: ignore[attr-defined]
            else:
                version = installed_version(str(dependency["skip_reason"]))
                known = newest_release_vulnerabilities(client, name, version)
                if known is None:
                    unaudited.append(f"{name} {version}")
                    continue
                audited += 1
                ids = known
            if ids:
                found[name] = ids
    print(f"audited {audited} installed distributions")
    if unaudited:
        print(f"NOT audited ({len(unaudited)}): not the newest release; PyPI has no data for its version:")
        print("  " + ", ".join(unaudited))
    for name, ids in found.items():
        print(f"VULNERABLE: {name}: {', '.join(ids)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
