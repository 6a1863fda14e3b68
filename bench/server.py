"""The service as a real process: `hie serve` (uvicorn), pinned to its own
cores with taskset where the machine has cores to spare."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(command: list[str], cpus: str | None) -> list[str]:
    """`command` under `taskset -c cpus`, or as it is when cpus is None."""
    if cpus is None:
        return command
    taskset = shutil.which("taskset")
    if taskset is None:
        raise RuntimeError("taskset is missing (Debian package util-linux)")
    return [taskset, "-c", cpus, *command]


def hie_command() -> list[str]:
    beside = Path(sys.executable).with_name("hie")
    return [str(beside)] if beside.exists() else [sys.executable, "-c", "from app.cli import main; main()"]


@dataclass(frozen=True)
class ServerConfig:
    database_url: str
    cpus: str | None = "0"
    workers: int = 1
    threadpool: int | None = None
    log_level: str = "warning"


@contextmanager
def serve(config: ServerConfig, log_path: Path, ready_timeout: float = 60.0) -> Iterator[tuple[str, int]]:
    """Start the service; yield its base URL and pid; stop it (by that pid)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": config.database_url,
        "LOG_LEVEL": config.log_level,
        # wrk's keys would spend the default quota in a second: count, but never refuse.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "1000000000/minute"),
    }
    if config.threadpool is not None:
        env["THREADPOOL_SIZE"] = str(config.threadpool)
    command = pinned(
        [
            *hie_command(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(config.workers),
        ],
        config.cpus,
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(base, process, ready_timeout, log_path)
            yield base, process.pid
        finally:
            _stop(process)


def _wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            last = f"{exc.code} {exc.read().decode(errors='replace')[:300]}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"the service was not ready within {timeout:.0f} s (/readyz: {last}); see {log_path}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
