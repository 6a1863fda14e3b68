"""Other work on the machine (a test suite, a build, another server) takes
cores from the service or from wrk and skews the numbers. Before each
measurement the harness waits, for a while, for the machine to be quiet, and
it records how much CPU others took while it measured.

"Ours" is this process and its children (wrk, taskset), the service and its
children, and on PostgreSQL the server's backends connected to the benchmark's
database and its background processes (the checkpointer, the WAL writer).
Everything else, other PostgreSQL backends included, is "others"."""

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, float]]:
    """Every process: its parent and the CPU seconds it has used."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def _descendants(processes: dict[int, tuple[int, float]], roots: Iterable[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, ()))
    return seen


def _postgres_backends(url: str) -> set[int]:
    name = make_url(url).database
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(libpq, connect_timeout=2) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s OR backend_type <> 'client backend'",
                [name],
            ).fetchall()
    except psycopg.Error:
        return set()
    return {row[0] for row in rows}


@dataclass
class Watch:
    """Whose CPU is whose, for one service on one database."""

    roots: set[int] = field(default_factory=set)
    database_url: str | None = None

    def ours(self, processes: dict[int, tuple[int, float]]) -> set[int]:
        mine = _descendants(processes, {os.getpid(), *self.roots})
        if self.database_url and self.database_url.startswith("postgresql"):
            mine |= _postgres_backends(self.database_url)
        return mine

    def sample(self) -> tuple[dict[int, tuple[int, float]], set[int]]:
        processes = _processes()
        return processes, self.ours(processes)


@dataclass
class Others:
    """Others' CPU use over a span, in cores (1.0 = one core busy all along)."""

    watch: Watch
    started: float = 0.0
    before: dict[int, tuple[int, float]] = field(default_factory=dict)
    ours_before: set[int] = field(default_factory=set)
    cores: float = 0.0

    def __enter__(self) -> "Others":
        self.started = time.monotonic()
        self.before, self.ours_before = self.watch.sample()
        return self

    def __exit__(self, *_: object) -> None:
        elapsed = time.monotonic() - self.started
        after, ours_after = self.watch.sample()
        skip = self.ours_before | ours_after
        used = 0.0
        for pid, (_parent, cpu) in after.items():
            if pid not in skip:
                # A process that started meanwhile used all of its CPU here.
                used += cpu - self.before.get(pid, (0, 0.0))[1]
        self.cores = max(0.0, used / elapsed) if elapsed else 0.0


def wait_for_quiet(watch: Watch, *, threshold: float = 0.1, patience: float = 60.0) -> tuple[float, float]:
    """Wait until others use under `threshold` cores over a second, or
    `patience` seconds have passed. Returns (seconds waited, others' cores
    in the last second)."""
    started = time.monotonic()
    while True:
        with Others(watch) as others:
            time.sleep(1.0)
        waited = time.monotonic() - started
        if others.cores < threshold or waited >= patience:
            return waited, others.cores
