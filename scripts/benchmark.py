"""Throughput and latency of generated services against two baselines, in one run.

    python scripts/benchmark.py                      # the PostgreSQL variants, 11 to 13 minutes
    python scripts/benchmark.py --variants 'postgresql-async-*' --duration 10
    python scripts/benchmark.py --smoke              # one variant, a second per route

Renders the variants asked for (names or shell patterns of ``scripts/matrix.py``; by
default every PostgreSQL variant with FastAPI background tasks, since the background
choice changes none of the measured routes), gives each its own virtualenv (uv, from
its cache after the first) and serves each with one uvicorn process on 127.0.0.1
against a throwaway PostgreSQL database seeded with ``--rows`` users (one for the
variants with Celery, whose outbox migration the others lack, one for the rest).
Beside them, in the same run, it serves ``reference/naive_get_db.py`` (the tutorial
``get_db`` pattern, the sync variants' yardstick), ``reference/docs_app.py`` (the async
read of the FastAPI and SQLAlchemy docs, the async variants' yardstick),
``reference/raw_asyncpg.py`` (Starlette and asyncpg, the bound) and
``reference/bare_orm.py`` (the cheapest ORM read and ``process``, async and sync).

Each route is loaded by wrk (``apt-get install wrk``) for ``--duration`` seconds:

- ``read``: ``GET /users/{id}`` of random users; ``list``: ``GET /users?limit=50``;
  ``create``: ``POST /users``, all with ``--clients`` connections;
- ``process 0ms`` and ``process 100ms``: ``POST /users/{id}/process`` with the
  external service answering at once or after 100 ms, with ``--process-clients``
  connections, more than the pool's 15 (pool 5 plus overflow 10, the defaults);
- ``export``: ``GET /users/export`` downloaded once after a warm-up, its time and
  the growth of the server's peak resident memory while it ran.
- ``import``: ``POST /users/import`` of 1,000 new users, once to warm up and three
  times measured, in rows/s, against the bare ORM apps' plain batch insert (one
  executemany INSERT, no savepoint per row).

It prints requests/s, p50/p99 latency and errors per service and route, then ratios
between them (the targets of issues 19 and 10 are stated above them, as numbers, not
as verdicts), and writes the same as Markdown to ``--markdown`` (by default
docs/benchmarks/results.md for a full run). Noisy machines vary between runs; compare
ratios within one run.

The command is this file; its parts are in ``scripts/bench/``: the routes and settings
(``routes.py``), the services and reference apps (``services.py``), the databases
(``databases.py``), wrk and the export (``load.py``), the rounds (``measure.py``) and the
tables (``report.py``).

PostgreSQL: ``--pg-url`` (default ``$TEMPLATE_TEST_PG_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres``) is an administrator URL on
127.0.0.1; the run creates its own databases there and drops them at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from bench.databases import prepare_databases
from bench.load import Results, wrk_version
from bench.measure import measure_process, measure_together
from bench.report import report
from bench.routes import TOGETHER_SERVERS
from bench.services import build_references, build_variant, select_variants, versions
from harness import ROOT
from harness.postgres import admin_url

DEFAULT_MARKDOWN = ROOT / "docs" / "benchmarks" / "results.md"
DEFAULT_VARIANTS = ("postgresql-*-fastapi",)
SMOKE_VARIANT = "postgresql-async-explicit-fastapi"


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
    parser.add_argument("--pg-url", default=admin_url())
    parser.add_argument(
        "--markdown", type=Path, help=f"default {DEFAULT_MARKDOWN.relative_to(ROOT)}"
    )
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_VARIANT}, a second per route")
    parser.add_argument(
        "--no-baselines",
        action="store_true",
        help="skip the reference apps (yardsticks, bound, bare ORM)",
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


if __name__ == "__main__":
    main()
