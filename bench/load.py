"""wrk, run from its own process on its own cores, reading its numbers back
from the line that bench/lua/report.lua prints."""

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.server import pinned

LUA = Path(__file__).resolve().parent / "lua"


@dataclass(frozen=True)
class LoadConfig:
    connections: int = 32
    threads: int = 1
    duration: float = 10.0
    warmup: float = 2.0
    cpus: str | None = "1"
    timeout: float = 5.0


@dataclass
class Measured:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        """Responses that were not 2xx or 3xx, and requests that got no answer."""
        return sum(self.errors.values())

    @property
    def ok_rps(self) -> float:
        return max(0, self.requests - self.errors.get("status", 0)) / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "ok_rps": round(self.ok_rps, 1),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "errors": self.errors,
            "statuses": self.statuses,
        }


def wrk_version() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        return "missing"
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()[:1]
    return first[0].split(" Copyright")[0].strip() if first else "unknown"


def run_wrk(
    url: str,
    script: str,
    env: dict[str, str],
    config: LoadConfig,
    *,
    duration: float | None = None,
) -> Measured:
    """One wrk run of `script` (a file in bench/lua) against `url`."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is missing: apt-get install -y wrk")
    seconds = duration if duration is not None else config.duration
    command = pinned(
        [
            wrk,
            "-t",
            str(config.threads),
            "-c",
            str(config.connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            f"{max(1, round(config.timeout))}s",
            "-s",
            str(LUA / script),
            url,
        ],
        config.cpus,
    )
    full_env = {**os.environ, **env, "BENCH_LUA": str(LUA), "BENCH_THREADS": str(config.threads)}
    done = subprocess.run(command, env=full_env, capture_output=True, text=True, check=False)
    match = re.search(r"^BENCH_JSON (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(match.group(1))
    latency = data["latency_us"]
    return Measured(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        errors={k: v for k, v in data["errors"].items() if v},
        statuses=dict(sorted(data["statuses"].items())),
    )
