"""The machinery the matrix relies on: if it were wrong, a broken variant could pass."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support import (
    VARIANTS,
    VariantEnv,
    database_exists,
    database_name,
    isolated_environ,
    redact,
    run,
    run_pytest,
    table_exists,
    throwaway_database,
    with_database,
)
from tests.test_generated_suites import run_suite


def test_matrix_has_every_combination() -> None:
    assert len(VARIANTS) == 54
    patterns = {
        (answers["session_style"], answers.get("commit_strategy")) for answers in VARIANTS.values()
    }
    assert patterns == {("explicit", None), ("dependency", "dependency"), ("dependency", "service")}
    assert {answers["database"] for answers in VARIANTS.values()} == {
        "sqlite",
        "postgresql",
        "mariadb",
    }
    assert {answers["concurrency"] for answers in VARIANTS.values()} == {"sync", "async"}
    assert {answers["background_tasks"] for answers in VARIANTS.values()} == {
        "fastapi",
        "none",
        "celery",
    }


def write_tests(project: Path, test_file: str) -> None:
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_module.py").write_text(test_file)


MIXED = """\
import pytest


@pytest.fixture
def broken() -> None:
    raise RuntimeError("setup fails")


def test_passes() -> None:
    pass


@pytest.mark.parametrize("n", [1, 2])
def test_fails(n: int) -> None:
    assert n == 1


def test_skips() -> None:
    pytest.skip("not here")


def test_errors(broken: None) -> None:
    pass


@pytest.mark.xfail(strict=True)
def test_xpasses() -> None:
    pass
"""


def test_run_pytest_reads_each_outcome_from_the_report(tmp_path: Path) -> None:
    write_tests(tmp_path, MIXED)
    suite = run_pytest([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=tmp_path)
    assert suite.completed.returncode == 1
    assert suite.outcomes == {
        "tests/test_module.py::test_passes": "passed",
        "tests/test_module.py::test_fails[1]": "passed",
        "tests/test_module.py::test_fails[2]": "failed",
        "tests/test_module.py::test_skips": "skipped",
        "tests/test_module.py::test_errors": "error",
        "tests/test_module.py::test_xpasses": "failed",
    }
    assert suite.counts() == {"passed": 2, "failed": 2, "error": 1, "skipped": 1}


def test_run_pytest_reports_a_module_that_cannot_be_collected(tmp_path: Path) -> None:
    write_tests(tmp_path, "import no_such_module_here\n")
    suite = run_pytest([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=tmp_path)
    assert suite.completed.returncode == 2
    assert suite.counts() == {"error": 1}


def test_run_pytest_without_a_report_fails(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="pytest wrote no report"):
        run_pytest([sys.executable, "-c", "print('not pytest')"], cwd=tmp_path)


def test_run_kills_a_command_that_outlives_its_timeout(tmp_path: Path) -> None:
    # The child starts a grandchild that would keep the output pipe open for a minute.
    script = (
        "import subprocess, sys; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print('started', flush=True); "
        "import time; time.sleep(60)"
    )
    with pytest.raises(pytest.fail.Exception, match=r"did not finish within 1s(.|\n)*started"):
        run([sys.executable, "-c", script], cwd=tmp_path, timeout=1)


def test_isolated_environ_drops_the_service_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/db")
    monkeypatch.setenv("TEST_DATABASE_URL", "postgresql://elsewhere/test")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-x")
    env = isolated_environ(Path("/venv"), EXTRA="1")
    assert "DATABASE_URL" not in env
    assert "TEST_DATABASE_URL" not in env
    assert "PYTEST_ADDOPTS" not in env
    assert env["PATH"].startswith("/venv/bin")
    assert env["EXTRA"] == "1"


def test_database_names_are_unique_and_fit_postgresql() -> None:
    hint = "test_generated_suite_on_postgresql[postgresql-async-dependency_commit-fastapi]"
    names = {database_name(hint) for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert len(name.encode()) <= 63
        assert name.startswith("tt_test_generated_suite_on_postgresql_")


def test_urls() -> None:
    url = "postgresql://admin:s3cret@db.internal:5433/postgres?sslmode=require"
    assert with_database(url, "tt_x") == (
        "postgresql://admin:s3cret@db.internal:5433/tt_x?sslmode=require"
    )
    assert "s3cret" not in redact(url)
    assert redact("postgresql://postgres@127.0.0.1:5432/postgres").endswith("/postgres")


def test_throwaway_database_is_created_empty_and_dropped(pg_admin: str) -> None:
    with throwaway_database(pg_admin, "support check") as url:
        name = url.rsplit("/", 1)[1]
        assert database_exists(pg_admin, name)
        assert not table_exists(url, "public.alembic_version")
    assert not database_exists(pg_admin, name)


def fake_env(project: Path, test_file: str) -> VariantEnv:
    """A project whose environment is this interpreter, with one test module."""
    write_tests(project, test_file)
    python = project / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return VariantEnv(project.name, project)


def test_a_suite_without_tests_fails(tmp_path: Path) -> None:
    """A project whose suite collects nothing must not pass the matrix."""
    env = fake_env(tmp_path / "empty", '"""No tests here."""\n')
    with pytest.raises(pytest.fail.Exception, match=r"failed on sqlite(.|\n)*no tests ran"):
        run_suite(env, lambda *_: None, "sqlite")


def test_a_suite_that_only_skips_fails(tmp_path: Path) -> None:
    env = fake_env(
        tmp_path / "skipping",
        "import pytest\n\n\ndef test_skipped() -> None:\n    pytest.skip('no database')\n",
    )
    with pytest.raises(AssertionError, match="the suite ran no tests"):
        run_suite(env, lambda *_: None, "sqlite")


def test_a_passing_suite_passes(tmp_path: Path) -> None:
    env = fake_env(tmp_path / "passing", "def test_one() -> None:\n    assert 1 + 1 == 2\n")
    assert run_suite(env, lambda *_: None, "sqlite") == {"passed": 1}


def test_a_suite_without_a_tests_folder_fails_clearly(tmp_path: Path) -> None:
    project = tmp_path / "bare"
    project.mkdir()
    with pytest.raises(AssertionError, match="has no tests/ folder"):
        run_suite(VariantEnv("bare", project), lambda *_: None, "sqlite")
