"""Real services for the tests that need more than one process: several
`hie serve` processes, each on its own free port, on one database."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# Settings the tests choose for each server; the rest are the service's defaults.
# Starting takes a few seconds; far longer on a machine busy with other work.
READY_SECONDS = 120
# Server processes resolve no names but localhost (tests/offline/sitecustomize.py).
OFFLINE = ROOT / "tests" / "offline"
CLEARED = ("RATE_LIMIT_STORAGE", "REDIS_URL", "API_RATE_LIMIT", "SIGN_IN_RATE_LIMIT", "RATE_LIMIT_PREFIX")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service stopped while starting:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the service did not become ready:\n{log.read_text()}")


def server_environment(database_url: str, env: dict[str, str]) -> dict[str, str]:
    """What a test's `hie serve` runs with: this process's environment less
    the settings the tests choose, then DATABASE_URL, quiet logs, no DNS and `env`."""
    environment = {k: v for k, v in os.environ.items() if k not in CLEARED}
    environment.update(
        {
            "DATABASE_URL": database_url,
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "warning",
            "PYTHONPATH": str(OFFLINE),
            **env,
        }
    )
    return environment


@contextmanager
def running_servers(
    database_url: str, folder: Path, env: dict[str, str], count: int = 2
) -> Iterator[list[str]]:
    """`count` separate `hie serve` processes on DATABASE_URL (already
    migrated), started together: their base URLs."""
    environment = server_environment(database_url, env)
    started: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    with ExitStack() as stack:
        for _ in range(count):
            port = free_port()
            log_path = folder / f"server-{port}.log"
            log = stack.enter_context(log_path.open("w"))
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                env=environment,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            stack.callback(_stop, process)
            started.append((f"http://127.0.0.1:{port}", process, log_path))
        for base, process, log_path in started:
            _wait_until_ready(base, process, log_path)
        yield [base for base, _, _ in started]


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)
