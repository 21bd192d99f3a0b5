"""The benchmark command runs end to end and prints its tables (their shape, never a time)."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from bench.load import Load, Results
from bench.report import process_ratio
from bench.services import Service
from matrix import variants

from tests.support import PG_SKIP_ENV, ROOT, check, pg_admin_url

SMOKE_VARIANT = "postgresql-async-explicit-fastapi"
LOAD_ROUTES = ("read", "list", "create", "process 0ms", "process 100ms")


def table_rows(lines: list[str], heading: str) -> list[list[str]]:
    """The cells of the body rows of the Markdown table under ``## heading``."""
    start = lines.index(f"## {heading}")
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # the header row left out


def run_benchmark(tmp_path: Path, *options: str) -> tuple[list[str], str]:
    """The lines of the Markdown a run wrote, and what it printed."""
    if os.environ.get(PG_SKIP_ENV) == "1":
        pytest.skip(f"{PG_SKIP_ENV}=1: PostgreSQL runs are skipped")
    markdown = tmp_path / "results.md"
    command = [sys.executable, "scripts/benchmark.py", *options, "--pg-url", pg_admin_url()]
    done = check([*command, "--markdown", str(markdown)], cwd=ROOT, timeout=300)
    return markdown.read_text().splitlines(), done.output


@pytest.mark.skipif(shutil.which("wrk") is None, reason="the benchmark needs wrk")
def test_smoke_run_prints_every_table(tmp_path: Path) -> None:
    lines, output = run_benchmark(tmp_path, "--smoke")
    assert "\n".join(lines[4:]) in output  # the file holds what was printed

    load = table_rows(lines, "Load")
    assert {(row[0], row[1]) for row in load} == {
        *((SMOKE_VARIANT, route) for route in LOAD_ROUTES),
        *(("naive get_db", route) for route in LOAD_ROUTES),
        *(("raw asyncpg", route) for route in LOAD_ROUTES),
        *(
            (bare, route)
            for bare in ("bare ORM async", "bare ORM sync")
            for route in ("read", "process 0ms", "process 100ms")
        ),
        ("docs app async", "read"),
    }
    for row in load:
        assert len(row) == 8
        assert all(float(cell) >= 0 for cell in row[2:]), row
        rate, low, high = (float(cell) for cell in row[2:5])
        assert low <= rate <= high, row  # the median round lies within the rounds' range

    export = next(line for line in lines if line.startswith("## Export"))
    exports = table_rows(lines, export.removeprefix("## "))
    assert [row[0] for row in exports] == [SMOKE_VARIANT, "naive get_db"]
    assert all(int(row[1]) >= 2000 for row in exports), exports  # every seeded user

    imports = table_rows(lines, "Import of 1000 users")
    assert [row[0] for row in imports] == [SMOKE_VARIANT, "bare ORM async", "bare ORM sync"]
    assert all(float(row[1]) > 0 for row in imports), imports
    # The variant's savepoint cost against the plain batch insert of its concurrency.
    assert re.fullmatch(r"\d+\.\dx", imports[0][2]), imports
    assert [row[2] for row in imports[1:]] == ["-", "-"], imports

    # Issue 19's: an async variant against the docs app, not against the sync yardstick.
    targets = table_rows(lines, "Issue 19's targets")
    assert [row[0] for row in targets] == [SMOKE_VARIANT]
    _name, read, docs, naive, slow, errors, raw = targets[0]
    # Numbers, whatever they are: a loaded machine may complete nothing in a second.
    assert all(float(cell) >= 0 for cell in (read, docs, slow, raw)), targets
    assert int(errors) >= 0, targets
    assert naive == "-", targets
    yardsticks = next(line for line in lines if line.startswith("Reads of the yardsticks"))
    for reference in ("docs app async", "naive get_db", "raw asyncpg"):
        assert re.search(rf"{reference} \d+ req/s \(\d+ errors\)", yardsticks), yardsticks

    others = table_rows(lines, "Other ratios")
    assert [row[0] for row in others] == [SMOKE_VARIANT]
    assert len(others[0]) == 5
    allows = next(line for line in lines if line.startswith("What the ORM alone allows"))
    assert re.search(r"docs app async read / raw = \d+\.\d\d", allows), allows
    stack = next(line for line in lines if line.startswith("What the stack allows"))
    for reference in ("raw asyncpg", "bare ORM async", "bare ORM sync"):
        assert re.search(rf"{reference} \d+\.\d\d", stack), stack
    assert any(line.startswith("- PostgreSQL: ") for line in lines)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="the benchmark needs wrk")
def test_variants_with_and_without_the_outbox_migration_run_together(tmp_path: Path) -> None:
    # The Celery variant has a third migration; each service must get a database at its
    # own head, or it refuses to start.
    names = [SMOKE_VARIANT, SMOKE_VARIANT.replace("-fastapi", "-celery")]
    lines, _output = run_benchmark(
        tmp_path,
        *("--variants", *names, "--no-baselines", "--duration", "0.5", "--warmup", "0"),
        *("--rounds", "1", "--rows", "1000"),
    )
    load = table_rows(lines, "Load")
    assert {(row[0], row[1]) for row in load} == {
        (name, route) for name in names for route in LOAD_ROUTES
    }
    assert all(row[7] == "0" for row in load), load  # no errors
    export = next(line for line in lines if line.startswith("## Export"))
    assert {(row[0], row[1]) for row in table_rows(lines, export.removeprefix("## "))} == {
        (name, "1000") for name in names
    }


def test_each_route_counts_its_median_round_and_every_error() -> None:
    results = Results()
    for rate, errors in ((300.0, 0), (100.0, 2), (200.0, 1), (400.0, 0)):
        results.add("service", "read", Load(rate, rate / 10, rate / 5, errors))
    median = results.median("service", "read")
    # Of an even count the lower middle round, with its own latencies.
    assert median == Load(200.0, 20.0, 40.0, 3)
    assert results.spread("service", "read") == (100.0, 400.0)
    assert results.median("service", "list") is None
    # A service's errors: every route's, of every round.
    results.add("service", "create", Load(100.0, 1.0, 2.0, 4))
    results.add("other", "read", Load(100.0, 1.0, 2.0, 5))
    assert results.errors("service") == 7


def test_process_ratio_pairs_each_rounds_two_measurements() -> None:
    # 50 clients on an async variant: 50 calls can wait at once, 500 req/s at 100 ms.
    service = Service(SMOKE_VARIANT, ROOT, Path("python"), "app", answers=variants()[SMOKE_VARIANT])
    results = Results()
    for slow, zero in ((300.0, 600.0), (200.0, 200.0), (400.0, 500.0)):
        results.add(SMOKE_VARIANT, "process 0ms", Load(zero, 1.0, 2.0, 0))
        results.add(SMOKE_VARIANT, "process 100ms", Load(slow, 1.0, 2.0, 0))
    # Per round: 300 / 500, 200 / 200, 400 / 500. The medians of each route apart would
    # give 300 / min(500, 500) = 0.6 instead.
    assert process_ratio(service, results, clients=50) == pytest.approx(0.8)
    assert process_ratio(Service("other", ROOT, Path("python"), "app"), results, 50) is None
