"""The benchmark command runs end to end and prints its tables (their shape, never a time)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

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


@pytest.mark.skipif(shutil.which("wrk") is None, reason="the benchmark needs wrk")
def test_smoke_run_prints_every_table(tmp_path: Path) -> None:
    if os.environ.get(PG_SKIP_ENV) == "1":
        pytest.skip(f"{PG_SKIP_ENV}=1: PostgreSQL runs are skipped")
    markdown = tmp_path / "results.md"
    done = check(
        [
            sys.executable,
            "scripts/benchmark.py",
            "--smoke",
            "--pg-url",
            pg_admin_url(),
            "--markdown",
            str(markdown),
        ],
        cwd=ROOT,
        timeout=300,
    )
    lines = markdown.read_text().splitlines()
    assert "\n".join(lines[4:]) in done.output  # the file holds what was printed

    load = table_rows(lines, "Load")
    assert {(row[0], row[1]) for row in load} == {
        *((SMOKE_VARIANT, route) for route in LOAD_ROUTES),
        *(("naive get_db", route) for route in LOAD_ROUTES),
        *(("raw asyncpg", route) for route in ("read", "list", "create")),
    }
    for row in load:
        assert len(row) == 6
        assert all(float(cell) >= 0 for cell in row[2:]), row

    export = next(line for line in lines if line.startswith("## Export"))
    exports = table_rows(lines, export.removeprefix("## "))
    assert [row[0] for row in exports] == [SMOKE_VARIANT, "naive get_db"]
    assert all(int(row[1]) >= 2000 for row in exports), exports  # every seeded user

    ratios = table_rows(lines, "Ratios")
    assert [row[0] for row in ratios] == [SMOKE_VARIANT]
    assert len(ratios[0]) == 7
    assert any(line.startswith("- PostgreSQL: ") for line in lines)
