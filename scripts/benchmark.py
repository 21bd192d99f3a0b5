"""Throughput and latency of generated services against two baselines, in one run.

    python scripts/benchmark.py                      # the PostgreSQL variants, about 11 minutes
    python scripts/benchmark.py --variants 'postgresql-async-*' --duration 10
    python scripts/benchmark.py --smoke              # one variant, a second per route

Renders the variants asked for (names or shell patterns of ``scripts/matrix.py``; by
default every PostgreSQL variant with FastAPI background tasks, since the background
choice changes none of the measured routes), gives each its own virtualenv (uv, from
its cache after the first) and serves each with one uvicorn process on 127.0.0.1
against a throwaway PostgreSQL database seeded with ``--rows`` users (one for the
variants with Celery, whose outbox migration the others lack, one for the rest).
Beside them, in the same run, it serves ``reference/naive_get_db.py`` (the tutorial
``get_db`` pattern), ``reference/raw_asyncpg.py`` (Starlette and asyncpg, the bound)
and ``reference/bare_orm.py`` (the cheapest ORM read and ``process``, async and sync).

Each route is loaded by wrk (``apt-get install wrk``) for ``--duration`` seconds:

- ``read``: ``GET /users/{id}`` of random users; ``list``: ``GET /users?limit=50``;
  ``create``: ``POST /users``, all with ``--clients`` connections;
- ``process 0ms`` and ``process 100ms``: ``POST /users/{id}/process`` with the
  external service answering at once or after 100 ms, with ``--process-clients``
  connections, more than the pool's 15 (pool 5 plus overflow 10, the defaults);
- ``export``: ``GET /users/export`` downloaded once after a warm-up, its time and
  the growth of the server's peak resident memory while it ran.

It prints requests/s, p50/p99 latency and errors per service and route, then ratios
between them (the targets of issue 10 are shown beside them, as numbers, not as
verdicts), and writes the same as Markdown to ``--markdown`` (by default
docs/benchmarks/results.md for a full run). Noisy machines vary between runs; compare
ratios within one run.

PostgreSQL: ``--pg-url`` (default ``$TEMPLATE_TEST_PG_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres``) is an administrator URL on
127.0.0.1; the run creates its own databases there and drops them at the end.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import copier
import psycopg
from matrix import computed, variants
from psycopg import sql
from uv import find_uv_bin

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"
DEFAULT_MARKDOWN = ROOT / "docs" / "benchmarks" / "results.md"
DEFAULT_VARIANTS = ("postgresql-*-fastapi",)
SMOKE_VARIANT = "postgresql-async-explicit-fastapi"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HOST = "127.0.0.1"
SLUG = "example_service"
# What the reference apps import; the same releases the variants resolve to.
REFERENCE_REQUIREMENTS = (
    "fastapi",
    "sqlalchemy[asyncio]",
    "psycopg[binary]",
    "asyncpg",
    "uvicorn[standard]",
)
BARE_ASYNC, BARE_SYNC = "bare ORM async", "bare ORM sync"
# The pool every server gets: the generated services' defaults, stated explicitly.
POOL_SIZE, MAX_OVERFLOW = 5, 10
# Threads of Starlette's thread pool, which runs sync endpoints (anyio's default).
SYNC_THREADS = 40
SLOW_EXTERNAL_MS = 100
START_TIMEOUT = 60.0
# Servers up at once while read, list and create are measured: 75 connections at most,
# of PostgreSQL's default 100. The default run's groups (three variants and two
# references of one concurrency) fit in one.
TOGETHER_SERVERS = 5
ROUTES = ("read", "list", "create", "process 0ms", f"process {SLOW_EXTERNAL_MS}ms")
TOGETHER_ROUTES = ROUTES[:3]
PROCESS_ROUTES = ROUTES[3:]
BARE_ROUTES = ("read", *PROCESS_ROUTES)

# wrk prints one JSON line when a run ends; latencies are in microseconds.
LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
LUA_REQUESTS = {
    "read": 'request = function() return wrk.format("GET", "/users/" .. '
    "math.random(1, {rows})) end",
    "list": 'request = function() return wrk.format("GET", "/users?offset=" .. '
    'math.random(0, {rows} - 50) .. "&limit=50") end',
    "create": """
counter = 0
request = function()
  counter = counter + 1
  local body = '{{"email": "bench-{nonce}-' .. counter .. '@example.com", "name": "Bench"}}'
  return wrk.format("POST", "/users", {{["Content-Type"] = "application/json"}}, body)
end""",
    "process": 'request = function() return wrk.format("POST", "/users/" .. '
    'math.random(1, {rows}) .. "/process") end',
}


@dataclass
class Service:
    """One server to measure: a rendered variant or a reference app."""

    name: str
    cwd: Path
    python: Path
    app: str
    app_dir: Path | None = None
    answers: dict[str, str] = field(default_factory=dict)
    routes: tuple[str, ...] = (*ROUTES, "export")
    # The benchmark database it is served against, set once the databases are ready.
    database_url: str = ""

    @property
    def is_variant(self) -> bool:
        return bool(self.answers)

    @property
    def migrations(self) -> tuple[str, ...]:
        """Its Alembic revisions, none for a reference app: variants with Celery add the
        outbox table, and a service refuses a database whose schema is not at its head."""
        versions = self.cwd / "migrations" / "versions"
        return tuple(sorted(path.name for path in versions.glob("*.py")))

    @property
    def concurrency(self) -> str:
        if self.answers:
            return self.answers["concurrency"]
        return "sync" if self.name in ("naive get_db", BARE_SYNC) else "async"

    @property
    def pattern(self) -> str:
        return computed("session_pattern", self.answers) if self.answers else self.name

    def process_slots(self, clients: int) -> int:
        """How many ``process`` calls can wait on the external service at once."""
        slots = clients
        if self.concurrency == "sync":
            slots = min(slots, SYNC_THREADS)
        if self.pattern == "dependency_commit":
            # Its request sessions are limited to the pool's capacity less one.
            slots = min(slots, POOL_SIZE + MAX_OVERFLOW - 1)
        if self.name == "naive get_db":
            # Its session keeps a pool connection while the external service runs.
            slots = min(slots, POOL_SIZE + MAX_OVERFLOW)
        return slots

    def process_limit(self, clients: int) -> float:
        """The requests/s those slots allow with the slow external service."""
        return self.process_slots(clients) * 1000 / SLOW_EXTERNAL_MS


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class Export:
    rows: int
    seconds: float
    rss_growth_mb: float


@dataclass
class Results:
    # Every round's measurement of a service and route.
    loads: dict[tuple[str, str], list[Load]] = field(default_factory=dict)
    exports: dict[str, Export] = field(default_factory=dict)

    def add(self, name: str, route: str, load: Load) -> None:
        self.loads.setdefault((name, route), []).append(load)

    def median(self, name: str, route: str) -> Load | None:
        """The round with the median rate (the lower one of an even count), all its errors."""
        rounds = sorted(self.loads.get((name, route), ()), key=lambda load: load.requests_per_s)
        if not rounds:
            return None
        middle = rounds[(len(rounds) - 1) // 2]
        errors = sum(load.errors for load in rounds)
        return Load(middle.requests_per_s, middle.p50_ms, middle.p99_ms, errors)

    def rates(self, name: str, route: str) -> list[float]:
        """Every round's rate, in the order of the rounds."""
        return [load.requests_per_s for load in self.loads.get((name, route), ())]

    def spread(self, name: str, route: str) -> tuple[float, float]:
        rates = self.rates(name, route)
        return min(rates), max(rates)


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [os.fspath(arg) for arg in args],
        cwd=cwd,
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def make_venv(folder: Path, *install: str) -> Path:
    uv = os.fsdecode(find_uv_bin())
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    run(uv, "venv", "-q", "--python", sys.executable, folder / ".venv", cwd=folder, env=env)
    python = folder / ".venv" / "bin" / "python"
    run(uv, "pip", "install", "-q", "--python", python, *install, cwd=folder, env=env)
    return python


def build_variant(name: str, folder: Path) -> Service:
    answers = variants()[name]
    project = folder / name
    copier.run_copy(str(ROOT), project, data=answers, defaults=True, quiet=True, vcs_ref="HEAD")
    python = make_venv(project, "-e", ".")
    return Service(name, project, python, f"{SLUG}.main:app", answers=dict(answers))


def build_references(folder: Path) -> list[Service]:
    folder.mkdir()
    python = make_venv(folder, *REFERENCE_REQUIREMENTS)
    return [
        Service("naive get_db", folder, python, "naive_get_db:app", app_dir=REFERENCE),
        Service(
            "raw asyncpg",
            folder,
            python,
            "raw_asyncpg:app",
            app_dir=REFERENCE,
            routes=ROUTES,
        ),
        Service(BARE_ASYNC, folder, python, "bare_orm:async_app", REFERENCE, routes=BARE_ROUTES),
        Service(BARE_SYNC, folder, python, "bare_orm:sync_app", REFERENCE, routes=BARE_ROUTES),
    ]


def select_variants(patterns: Sequence[str]) -> list[str]:
    names = [
        name
        for name in variants()
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
    ]
    if not names:
        raise SystemExit(f"no variant matches {' '.join(patterns)}; see scripts/matrix.py")
    if unsupported := [name for name in names if not name.startswith("postgresql-")]:
        raise SystemExit(f"the benchmark runs on PostgreSQL only, not {', '.join(unsupported)}")
    return names


def url_of(admin_url: str, database: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    if info.get("host") not in (HOST, None) and info.get("hostaddr") != HOST:
        raise SystemExit(f"the benchmark only uses PostgreSQL on {HOST}")
    user = info.get("user") or "postgres"
    password = f":{info['password']}" if info.get("password") else ""
    return f"postgresql://{user}{password}@{HOST}:{info.get('port') or 5432}/{database}"


def prepare_databases(stack: ExitStack, services: list[Service], args: argparse.Namespace) -> str:
    """A seeded database for each set of migrations among the variants (the reference
    apps use the first); sets each service's ``database_url``, returns the server version."""
    version = "?"
    urls: dict[tuple[str, ...], str] = {}
    for service in services:
        if service.migrations and service.migrations not in urls:
            url = stack.enter_context(bench_database(args.pg_url))
            version = prepare_database(url, service, args.rows)
            urls[service.migrations] = url
    first = next(iter(urls.values()))
    for service in services:
        service.database_url = urls.get(service.migrations, first)
    return version


@contextmanager
def bench_database(admin_url: str) -> Iterator[str]:
    name = f"bench_{os.getpid()}_{secrets.token_hex(3)}"
    url_of(admin_url, name)  # refuses a server elsewhere before anything is created
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url_of(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def prepare_database(url: str, migrator: Service, rows: int) -> str:
    """Migrate with a rendered project's Alembic, seed ``rows`` users; the server version."""
    run(
        migrator.python,
        "-m",
        "alembic",
        "upgrade",
        "head",
        cwd=migrator.cwd,
        env=server_env(url, 0),
    )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO users (email, name) SELECT 'user' || n || '@example.com', "
            "'User ' || n FROM generate_series(1, %s) AS n",
            (rows,),
        )
        connection.execute("VACUUM ANALYZE users")
        version = connection.execute("SHOW server_version").fetchone()
    return str(version[0]) if version else "?"


def forget_created_users(services: list[Service], rows: int) -> None:
    """Every service starts from the same table: the seeded users, nobody else."""
    for url in {service.database_url for service in services}:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("DELETE FROM users WHERE id > %s", (rows,))


def server_env(url: str, delay_ms: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DB_POOL_SIZE": str(POOL_SIZE),
        "DB_MAX_OVERFLOW": str(MAX_OVERFLOW),
        "EXTERNAL_SERVICE_DELAY_MS": str(delay_ms),
        "LOG_LEVEL": "WARNING",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], deadline: float, what: str) -> None:
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def serving(service: Service, delay_ms: int) -> Iterator[tuple[str, int]]:
    """One uvicorn process of the service; yields its base URL and process id."""
    port = free_port()
    command = [
        os.fspath(service.python),
        "-m",
        "uvicorn",
        service.app,
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if service.app_dir:
        command += ["--app-dir", os.fspath(service.app_dir)]
    server = subprocess.Popen(
        command,
        cwd=service.cwd,
        env=server_env(service.database_url, delay_ms),
        start_new_session=True,
    )
    base = f"http://{HOST}:{port}"

    def healthy() -> bool:
        if server.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError):
            return False

    try:
        wait_until(healthy, time.monotonic() + START_TIMEOUT, f"{service.name} to start")
        yield base, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wrk(base: str, route: str, clients: int, seconds: float, rows: int, scripts: Path) -> Load:
    kind = "process" if route.startswith("process") else route
    script = scripts / f"{kind}.lua"
    # create: new emails every run. Requests still in flight when wrk stops commit after
    # forget_created_users ran, and their emails must not collide with the next run's.
    if kind == "create" or not script.exists():
        body = LUA_REQUESTS[kind].format(rows=rows, nonce=secrets.token_hex(4))
        script.write_text(body + "\n" + LUA_DONE)
    output = run(
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(clients),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "--script",
        script,
        base,
    )
    summary: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return Load(
        requests_per_s=summary["requests"] / (summary["duration_us"] / 1e6),
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        errors=summary["errors"],
    )


def memory_kb(pid: int, key: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def export(base: str, pid: int) -> Export:
    """Download the export once; its rows, seconds and the server's peak memory growth."""
    before = memory_kb(pid, "VmRSS")
    # Resets the peak (VmHWM) to the current resident size (proc(5), clear_refs).
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    lines = 0
    started = time.perf_counter()
    with urllib.request.urlopen(f"{base}/users/export", timeout=120) as response:
        for _line in response:
            lines += 1
    seconds = time.perf_counter() - started
    growth = max(0, memory_kb(pid, "VmHWM") - before) / 1024
    return Export(rows=lines - 1, seconds=seconds, rss_growth_mb=growth)


def rotated(services: list[Service], round_number: int) -> list[Service]:
    """Each round starts with another service, so none is always measured first."""
    shift = round_number % len(services) if services else 0
    return services[shift:] + services[:shift]


def measure_together(
    services: list[Service], args: argparse.Namespace, scripts: Path, into: Results
) -> None:
    """read, list, create and the export, with every server of ``services`` up at once.

    Each round loads every service in turn for each route. A slow spell of a shared
    machine then falls on all services of a round, not on whichever was measured during
    it, and the median round of each is compared. After its turn a generated service
    keeps pool_size connections open, and its simulated external service as many, so
    ten servers up at once would take PostgreSQL's default of 100 connections: the
    caller passes at most ``TOGETHER_SERVERS`` of one concurrency at a time.
    """
    # Users created under the previous group's load, the last ones included, go first.
    forget_created_users(services, args.rows)
    with ExitStack() as stack:
        bases: dict[str, str] = {}
        for service in services:
            base, pid = stack.enter_context(serving(service, 0))
            bases[service.name] = base
            if args.warmup:
                wrk(base, "read", args.clients, args.warmup, args.rows, scripts)
            # Before anything is created, so every service exports the same rows.
            if "export" in service.routes:
                if args.warmup:
                    export(base, pid)
                into.exports[service.name] = export(base, pid)
        for round_number in range(args.rounds):
            for route in TOGETHER_ROUTES:
                for service in rotated(services, round_number):
                    if route in service.routes:
                        load = wrk(
                            bases[service.name],
                            route,
                            args.clients,
                            args.duration,
                            args.rows,
                            scripts,
                        )
                        into.add(service.name, route, load)
                        report_progress(round_number, service, route, load)
                        if route == "create":  # the next one creates the same emails
                            forget_created_users([service], args.rows)


def measure_process(
    services: list[Service], args: argparse.Namespace, scripts: Path, into: Results
) -> None:
    """``process`` at 0 ms and at 100 ms, a server at a time: with the external service's
    own pool, a server under this load opens up to 30 connections, too many to keep every
    server up. The rounds alternate between services, and each round measures a service
    at 0 ms and at 100 ms back to back, so that the ratio of the two, taken per round,
    compares measurements made seconds apart: a shared machine's speed drifts over
    minutes."""
    serves = [service for service in services if PROCESS_ROUTES[0] in service.routes]
    for round_number in range(args.rounds):
        for service in rotated(serves, round_number):
            for route, delay_ms in zip(PROCESS_ROUTES, (0, SLOW_EXTERNAL_MS), strict=True):
                with serving(service, delay_ms) as (base, _pid):
                    if args.warmup:
                        wrk(base, "process", args.process_clients, args.warmup, args.rows, scripts)
                    load = wrk(base, route, args.process_clients, args.duration, args.rows, scripts)
                into.add(service.name, route, load)
                report_progress(round_number, service, route, load)


def report_progress(round_number: int, service: Service, route: str, load: Load) -> None:
    print(
        f"  round {round_number + 1}  {service.name:42} {route:14} {load.requests_per_s:8.0f} req/s"
    )


def versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "names = ('fastapi', 'starlette', 'sqlalchemy', 'pydantic', 'uvicorn', 'psycopg',"
        " 'asyncpg', 'uvloop', 'httptools')\n"
        "installed = {d.metadata['Name'].lower(): d.version for d in m.distributions()}\n"
        "print(json.dumps({n: installed[n] for n in names if n in installed}))"
    )
    result: dict[str, str] = json.loads(run(python, "-c", code))
    return result


def ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}"


def process_ratio(service: Service, results: Results, clients: int) -> float | None:
    """process 100ms / min(limit, process 0ms) of one service: the median (the lower one
    of an even count) of the rounds' own ratios, each round measuring the two back to back."""
    limit = service.process_limit(clients)
    rounds = zip(
        results.rates(service.name, PROCESS_ROUTES[1]),
        results.rates(service.name, PROCESS_ROUTES[0]),
        strict=True,
    )
    ratios = sorted(slow / min(limit, zero or limit) for slow, zero in rounds)
    return ratios[(len(ratios) - 1) // 2] if ratios else None


def report(
    services: list[Service], results: Results, args: argparse.Namespace, machine: dict[str, str]
) -> list[str]:
    """The tables, as Markdown lines (printed as they are)."""
    lines = [
        "## Load",
        "",
        f"The round with the median rate of {args.rounds}; min and max are the other rounds' "
        "rates, errors are summed over all rounds.",
        "",
        "| service | route | req/s | min | max | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for service in services:
        for route in ROUTES:
            if (found := results.median(service.name, route)) is not None:
                low, high = results.spread(service.name, route)
                lines.append(
                    f"| {service.name} | {route} | {found.requests_per_s:.0f} | {low:.0f} "
                    f"| {high:.0f} | {found.p50_ms:.1f} | {found.p99_ms:.1f} | {found.errors} |"
                )
    lines += ["", f"## Export of {args.rows} users", ""]
    lines += [
        "| service | rows | seconds | rows/s | peak RSS growth MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for service in services:
        if (done := results.exports.get(service.name)) is not None:
            lines.append(
                f"| {service.name} | {done.rows} | {done.seconds:.2f} | "
                f"{done.rows / done.seconds:.0f} | {done.rss_growth_mb:.1f} |"
            )

    def rate(name: str, route: str) -> float | None:
        found = results.median(name, route)
        return found.requests_per_s if found else None

    by_name = {service.name: service for service in services}

    def slow_ratio(service: Service) -> str:
        found = process_ratio(service, results, args.process_clients)
        return "-" if found is None else f"{found:.2f}"

    lines += [
        "",
        "## Ratios",
        "",
        "Issue 10's targets, for reference: read / raw >= 0.40 (async); read / naive >= 1.3 "
        "(sync); process 0ms / read >= 0.25; process 100ms / min(limit, process 0ms) >= 0.80 "
        "with 0 errors; dependency_commit read / the other patterns' >= 0.80; export >= 50000 "
        "rows/s with < 50 MB growth. The limit is the requests/s that the calls which can wait "
        "on the external service at once allow (clients, sync threads, request sessions); "
        "the process 100ms ratio is the median of the rounds' own ratios, each round "
        "measuring 0 ms and 100 ms back to back. "
        "The bare ORM column compares with reference/bare_orm.py of the same concurrency: "
        "a session, Session.get and nothing else.",
        "",
        "| variant | read / raw | read / naive | read / bare ORM | process 0ms / read "
        "| process 100ms limit | process 100ms / min(limit, 0ms) | read / other patterns |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    variants_run = [service for service in services if service.is_variant]
    for service in variants_run:
        read = rate(service.name, "read")
        bare = BARE_ASYNC if service.concurrency == "async" else BARE_SYNC
        others = [
            value
            for other in variants_run
            if other.pattern != service.pattern
            and other.concurrency == service.concurrency
            and (value := rate(other.name, "read")) is not None
        ]
        mean_others = sum(others) / len(others) if others else None
        lines.append(
            f"| {service.name} | {ratio(read, rate('raw asyncpg', 'read'))} "
            f"| {ratio(read, rate('naive get_db', 'read'))} | {ratio(read, rate(bare, 'read'))} "
            f"| {ratio(rate(service.name, 'process 0ms'), read)} "
            f"| {service.process_limit(args.process_clients):.0f} "
            f"| {slow_ratio(service)} "
            f"| {ratio(read, mean_others)} |"
        )
    raw_read, naive_read = rate("raw asyncpg", "read"), rate("naive get_db", "read")
    if raw_read and naive_read:
        lines += [
            "",
            "What the ORM alone allows, on this machine and in this run: bare ORM async read / "
            f"raw = {ratio(rate(BARE_ASYNC, 'read'), raw_read)}; bare ORM sync read / naive = "
            f"{ratio(rate(BARE_SYNC, 'read'), naive_read)}. A variant reads through the same "
            "Session.get, so its read / raw and read / naive stay near or below these.",
        ]
    ceilings = [
        f"{name} {slow_ratio(by_name[name])}"
        for name in ("raw asyncpg", BARE_ASYNC, BARE_SYNC)
        if name in by_name and rate(name, PROCESS_ROUTES[1])
    ]
    if ceilings:
        lines += [
            "",
            f"What the stack allows for process {SLOW_EXTERNAL_MS}ms / min(limit, 0ms), on this "
            f"machine and in this run: {'; '.join(ceilings)}. They make the same calls as a "
            "variant (a read, the wait, the external service's UPDATE on its own pool, a "
            "second read) with nothing else; raw asyncpg also without transactions around "
            "its reads.",
        ]
    naive_slow = rate("naive get_db", PROCESS_ROUTES[1])
    if naive_slow:
        naive = by_name["naive get_db"]
        lines += [
            "",
            f"naive get_db: process {SLOW_EXTERNAL_MS}ms / min(limit "
            f"{naive.process_limit(args.process_clients):.0f}, 0ms) = "
            f"{slow_ratio(naive)} "
            "(its process returns stale credits; see reference/naive_get_db.py). A rate of 0 "
            "with no errors means no request completed within the run: a request that holds a "
            "connection needs a worker thread to validate its response, and every thread is "
            "taken by a request waiting for a connection, until the 30 s pool timeout.",
        ]
    lines += [
        "",
        "## Setup",
        "",
        f"- {args.clients} connections for read, list and create; {args.process_clients} for "
        f"process (pool {POOL_SIZE} + overflow {MAX_OVERFLOW}); rounds: {args.rounds} of "
        f"{args.duration:g} s per service and route, wrk with one thread; one uvicorn process "
        "per service (uvloop, httptools); read, list and create with the servers of one "
        "concurrency up together (async with raw asyncpg, sync with naive get_db; at most "
        f"{TOGETHER_SERVERS} at once) and the services taking turns, process one server at "
        "a time (0 ms, then 100 ms)",
        *(f"- {key}: {value}" for key, value in machine.items()),
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS), metavar="NAME")
    parser.add_argument(
        "--duration", type=float, default=3, help="seconds per round and route (default 3)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="measurements of each route; the median counts"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=1,
        help="seconds of load before a server is measured (0: none)",
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--process-clients", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100_000, help="users in the table")
    parser.add_argument("--pg-url", default=os.environ.get("TEMPLATE_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument(
        "--markdown", type=Path, help=f"default {DEFAULT_MARKDOWN.relative_to(ROOT)}"
    )
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_VARIANT}, a second per route")
    parser.add_argument(
        "--no-baselines", action="store_true", help="skip naive get_db and raw asyncpg"
    )
    args = parser.parse_args()
    if args.smoke:
        args.variants, args.duration, args.warmup, args.rounds = [SMOKE_VARIANT], 1, 0, 1
        args.rows = min(args.rows, 2000)
    elif args.markdown is None:
        args.markdown = DEFAULT_MARKDOWN
    if shutil.which("wrk") is None:
        raise SystemExit(
            "the benchmark needs wrk: apt-get install -y wrk (or your system's package)"
        )
    names = select_variants(args.variants)
    started = time.monotonic()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="benchmark-")))
        scripts = folder / "lua"
        scripts.mkdir()
        print(f"building {len(names)} variants{'' if args.no_baselines else ' and the baselines'}")
        with ThreadPoolExecutor(max_workers=4) as pool:
            built = [pool.submit(build_variant, name, folder) for name in names]
            references = (
                None if args.no_baselines else pool.submit(build_references, folder / "reference")
            )
            services = [future.result() for future in built]
            if references is not None:
                services += references.result()
        pg_version = prepare_databases(stack, services, args)
        results = Results()
        for concurrency in ("async", "sync"):
            group = [service for service in services if service.concurrency == concurrency]
            for start in range(0, len(group), TOGETHER_SERVERS):
                measure_together(group[start : start + TOGETHER_SERVERS], args, scripts, results)
        measure_process(services, args, scripts, results)
        found = versions(services[-1].python)
        machine = {
            "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, "
            f"{platform.system()} {platform.release()}",
            "Python": platform.python_version(),
            "PostgreSQL": f"{pg_version} on loopback",
            "load generator": wrk_version(),
            "packages": ", ".join(f"{name} {version}" for name, version in found.items()),
            "run": f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"{time.monotonic() - started:.0f} s",
            "command": "python scripts/benchmark.py " + " ".join(sys.argv[1:]),
        }
    lines = report(services, results, args, machine)
    print()
    print("\n".join(lines))
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        title = ["# Benchmark results", "", "Written by `scripts/benchmark.py`; one run.", ""]
        args.markdown.write_text("\n".join(title + lines) + "\n")


def wrk_version() -> str:
    # `wrk --version` prints its banner and exits with status 1.
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip()


if __name__ == "__main__":
    main()
