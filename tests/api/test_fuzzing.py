"""Schemathesis against a real server's `/openapi.json`, on each database:
every operation, every phase (the schema's examples, coverage of its edges,
random fuzzing, and stateful sequences linked by the `Location` of what a
POST made), every check. No 5xx, and every answer as the schema declares it:
status, headers, content type and body.

The run is seeded (deterministic mode) and its size is fixed by
MAX_EXAMPLES, so CI sees the same requests every time."""

import subprocess
import sys
from pathlib import Path

import httpx

from app.db import Database
from tests.factories import make_world
from tests.servers import running_servers

MAX_EXAMPLES = 10

# The one setting beyond "all checks": which answers to a request that fits
# the schema are still right. Besides schemathesis's defaults, the rules the
# schema cannot express: 412 and 428 (If-Match missing or stale), 422 for what
# only the data can refuse (an id of no record, a cursor this service never
# gave, an Idempotency-Key already used for another request, a webhook host
# that does not resolve, a postcode outside the programme's area).
CONFIG = f"""
workers = 1
continue-on-failure = true
# Generous: CI's machine may be busy; the checks are about answers, not speed.
request-timeout = 120
wait-for-schema = 120

[generation]
deterministic = true
max-examples = {MAX_EXAMPLES}
database = "none"

[checks]
enabled = true

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "428", "429"]
"""


def test_the_api_answers_every_fuzzed_request_as_its_schema_says(
    fresh_database: Database, tmp_path: Path
) -> None:
    with fresh_database.transaction() as session:
        admin_key = make_world(session).keys["admin"]
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    env = {
        "API_RATE_LIMIT": "100000/minute",
        "APPLICATIONS_PER_ADDRESS": "100000",
        # No deliveries: a fuzzed webhook may name any public address, and tests send only to 127.0.0.1.
        "WEBHOOK_WORKER_IN_PROCESS": "false",
    }

    with running_servers(fresh_database.settings.database_url, tmp_path, env, count=1) as (server,):
        httpx.get(f"{server}/openapi.json", timeout=120).raise_for_status()  # built once, before the clock
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(config),
                "--no-color",
                "run",
                f"{server}/openapi.json",
                "--header",
                f"Authorization: Bearer {admin_key}",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            cwd=tmp_path,
        )
    (tmp_path / "schemathesis.txt").write_text(run.stdout + run.stderr)  # the whole report, to read
    server_log = "".join(log.read_text() for log in tmp_path.glob("server-*.log"))

    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "Traceback" not in server_log, server_log[-10000:]
