"""Fixtures of the template's own tests.

Each variant of the matrix is rendered once per run and gets one environment per run,
shared by every test (and every pytest-xdist worker) that needs it: a file lock per
variant makes the first worker build it and the others wait for it. Throwaway
PostgreSQL and MariaDB databases are created per test and dropped afterwards.

Environment variables:

- ``TEMPLATE_TEST_PG_URL``: administrator URL of the PostgreSQL server used for the
  PostgreSQL runs (default ``postgresql://postgres@127.0.0.1:5432/postgres``).
- ``TEMPLATE_TEST_SKIP_PG=1``: skip the PostgreSQL runs. Without it an unreachable
  server fails those tests.
- ``TEMPLATE_TEST_MARIADB_URL``, ``TEMPLATE_TEST_SKIP_MARIADB=1``: the same for the
  MariaDB runs (default ``mariadb://root@127.0.0.1:3306/``).
- ``UV_CACHE_DIR``: uv's package cache, shared by all variant environments.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import (
    DEFAULT_VARIANT,
    MARIADB_SKIP_ENV,
    PG_SKIP_ENV,
    ROOT,
    VARIANTS,
    VariantEnv,
    build_environment,
    copy_project,
    exclusive,
    pg_admin_url,
    render,
    throwaway_database,
    throwaway_mariadb_database,
)

TIMINGS_FILE = "timings.tsv"

#: Modules whose tests take the longest (whole generated suites, servers under load),
#: in that order. They are collected first so that they start first; with
#: `--dist worksteal` (pyproject.toml) an idle worker takes over half of the other's
#: queue, so the run does not end with one worker on a row of long suites while the
#: other has nothing left to do.
SLOW_MODULES_FIRST = (
    "test_generated_suites.py",
    "test_lifecycle.py",
    "test_naive_pattern.py",
    "test_proof_matrix.py",
    "test_benchmark.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> tuple[int, bool]:
        name = item.path.name
        module = (
            SLOW_MODULES_FIRST.index(name)
            if name in SLOW_MODULES_FIRST
            else len(SLOW_MODULES_FIRST)
        )
        # Within a module, the Celery variants' items first: each of their tests starts
        # a worker process, so theirs are the longest suites.
        return module, "celery" not in item.name

    items.sort(key=rank)


#: The quick loop a contributor runs before pushing, `python -m pytest -n 2 -m quick`
#: (README.md, "Quick start"): every variant rendered, linted and type-checked, the
#: interface docs and the renders' wording checked, and the default variant's suite.
QUICK_LOOP = (
    "test_drift.py",
    "test_wording.py",
    "test_render.py::test_answers_file_of_every_variant",
    "test_render.py::test_no_template_syntax_left",
    "test_quality.py::test_ruff_check",
    "test_quality.py::test_ruff_format",
    "test_quality.py::test_mypy",
    f"test_generated_suites.py::test_generated_suite_on_its_own_database[{DEFAULT_VARIANT}]",
)


def pytest_itemcollected(item: pytest.Item) -> None:
    test = f"{item.path.name}::{item.name}"
    if any(test == entry or test.startswith((f"{entry}::", f"{entry}[")) for entry in QUICK_LOOP):
        item.add_marker(pytest.mark.quick)


def _run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary folder; pytest-xdist workers get subfolders of it."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def record_timing(run_dir: Path, kind: str, name: str, seconds: float) -> None:
    with (run_dir / TIMINGS_FILE).open("a") as handle:
        handle.write(f"{kind}\t{name}\t{seconds:.2f}\n")


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def mypy_cache() -> Path:
    """A mypy cache for this pytest-xdist worker, reused by every project it checks and
    kept between runs (in this checkout's ignored .mypy_cache/).

    The installed packages are the same files in every environment (uv's cache), and
    mypy trusts a cached module only while its source's hash, its dependencies and the
    options match, so a warm cache leaves mypy only the project's changed modules to
    check (about 2s instead of 25s). One per worker: no two mypy runs write the same
    cache at once.
    """
    return ROOT / ".mypy_cache" / "variants" / os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def timing(run_dir: Path) -> Callable[[str, str, float], None]:
    """Record how long a step took; the totals are printed at the end of the run."""

    def record(kind: str, name: str, seconds: float) -> None:
        record_timing(run_dir, kind, name, seconds)

    return record


@pytest.fixture(scope="session")
def rendered(run_dir: Path) -> Callable[[str], Path]:
    """``rendered(variant)``: the pristine render of a matrix variant (read it, never write it)."""
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name in cache:
            return cache[name]
        folder = run_dir / "renders" / name
        done = folder.with_suffix(".done")
        with exclusive(folder.with_suffix(".lock")):
            if not done.exists():
                started = time.monotonic()
                render(VARIANTS[name], folder)
                record_timing(run_dir, "render", name, time.monotonic() - started)
                done.touch()
        cache[name] = folder
        return folder

    return get


@pytest.fixture(scope="session")
def variant_env(run_dir: Path, rendered: Callable[[str], Path]) -> Callable[[str], VariantEnv]:
    """``variant_env(variant)``: a copy of the variant's render with its ``[test]`` environment.

    Built once per run; a failure is remembered, so later tests of the variant fail at
    once with the same message instead of building it again.
    """
    cache: dict[str, VariantEnv] = {}
    failures: dict[str, str] = {}

    def get(name: str) -> VariantEnv:
        if name in cache:
            return cache[name]
        if name in failures:
            pytest.fail(failures[name], pytrace=False)
        project = run_dir / "projects" / name
        done = project.with_suffix(".done")
        try:
            with exclusive(project.with_suffix(".lock")):
                if not done.exists():
                    copy_project(rendered(name), project)
                    started = time.monotonic()
                    build_environment(project)
                    record_timing(run_dir, "environment", name, time.monotonic() - started)
                    done.touch()
        except pytest.fail.Exception as error:
            failures[name] = f"building the environment of {name} failed:\n{error}"
            raise
        cache[name] = VariantEnv(name, project)
        return cache[name]

    return get


@pytest.fixture
def pg_admin() -> str:
    """Administrator URL of the PostgreSQL server (skips with TEMPLATE_TEST_SKIP_PG=1)."""
    if os.environ.get(PG_SKIP_ENV) == "1":
        pytest.skip(f"{PG_SKIP_ENV}=1: PostgreSQL runs are skipped")
    return pg_admin_url()


@pytest.fixture
def pg_database(pg_admin: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of an empty PostgreSQL database made for this test, dropped after it.

    An unreachable server fails the test, naming the URL and the ways out.
    """
    with throwaway_database(pg_admin, request.node.name) as url:
        yield url


@pytest.fixture
def mariadb_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of an empty MariaDB database made for this test, dropped after it (skips with
    TEMPLATE_TEST_SKIP_MARIADB=1; an unreachable server fails the test)."""
    if os.environ.get(MARIADB_SKIP_ENV) == "1":
        pytest.skip(f"{MARIADB_SKIP_ENV}=1: MariaDB runs are skipped")
    with throwaway_mariadb_database(request.node.name) as url:
        yield url


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print how long the steps took (per kind: count, total, median, slowest)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None:
        return
    path = factory.getbasetemp() / TIMINGS_FILE
    if not path.exists():
        return
    by_kind: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        kind, name, seconds = line.split("\t")
        by_kind[kind].append((float(seconds), name))
    terminalreporter.section("template test timings")
    for kind, entries in sorted(by_kind.items()):
        values = [seconds for seconds, _ in entries]
        slowest, slowest_name = max(entries)
        terminalreporter.write_line(
            f"{kind:<22} {len(values):>3} x  total {sum(values):7.1f}s  "
            f"median {statistics.median(values):5.1f}s  max {slowest:5.1f}s ({slowest_name})"
        )
