"""Plain helpers for the template's own tests (the fixtures built on them are in conftest.py).

Rendering, environments, commands and throwaway PostgreSQL databases are the harness's
(scripts/harness/, shared with the scripts and the docs hooks): this module re-exports
them, turning their errors into test failures that show the command's output. Its own
are what only tests need: the variant list, a variant's environment as a test uses it,
pytest runs read from their JUnit XML report, and `copier update` of template versions.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, Unpack

import copier
import matrix
import pytest
import yaml
from harness import ROOT, commands, environments, mariadb, postgres
from harness.commands import CommandError, Completed, RunOptions
from harness.environ import isolated_environ
from harness.environments import uv_binary
from harness.mariadb import table_exists as mariadb_table_exists
from harness.postgres import (
    DEFAULT_PG_URL,
    PG_URL_ENV,
    database_exists,
    database_name,
    redact,
    table_exists,
    with_database,
)
from harness.render import render
from pytest_copie.plugin import Copie

__all__ = [
    "DEFAULT_PG_URL",
    "PG_URL_ENV",
    "ROOT",
    "Completed",
    "database_exists",
    "database_name",
    "isolated_environ",
    "mariadb_table_exists",
    "redact",
    "render",
    "table_exists",
    "uv_binary",
    "with_database",
]

#: Questions whose answers every generated project records in .copier-answers.yml.
ASKED = (
    "project_name",
    "project_slug",
    "description",
    "author_name",
    "author_email",
    "python_version",
    "database",
    "concurrency",
    "session_style",
    "background_tasks",
)
#: Values copier.yml computes for the templates; never asked, never recorded.
COMPUTED = tuple(
    name for name, question in matrix.questions().items() if question.get("when") is False
)
#: The contract's rule for a package name.
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,38}$")

PG_SKIP_ENV = "TEMPLATE_TEST_SKIP_PG"


VARIANTS: dict[str, dict[str, str]] = matrix.variants()
VARIANT_NAMES: list[str] = list(VARIANTS)
#: Set to 1 to run every variant's suite on the other database too, not a sample.
FULL_MATRIX_ENV = "TEMPLATE_TEST_FULL_MATRIX"


def cross_database_variants() -> list[str]:
    """Variants whose suite also runs on the database they were not generated for."""
    if os.environ.get(FULL_MATRIX_ENV) == "1":
        return VARIANT_NAMES
    return matrix.pairwise(VARIANT_NAMES)


def other_database(database: str) -> str:
    """The second backend a variant's tests run on (includes/drivers.jinja installs its
    driver as an extra): SQLite for the servers, PostgreSQL for SQLite."""
    return "postgresql" if database == "sqlite" else "sqlite"


#: The variant `copier copy --defaults` renders.
DEFAULT_VARIANT = "sqlite-sync-explicit-fastapi"


# ---------------------------------------------------------------------------------------
# Rendered projects (rendering itself is harness.render's `render`)
# ---------------------------------------------------------------------------------------
def copie_render(copie: Copie, answers: Mapping[str, Any]) -> Path:
    """Render this checkout with ``answers`` through pytest-copie's ``copie`` fixture; raise
    what copier raised (a rejected answer: its ``ValueError``).

    Like ``render``, it renders ``vcs_ref="HEAD"`` of this checkout, so uncommitted
    changes are rendered too (tests/test_render.py proves it). pytest-copie passes the
    answers as copier's user defaults with ``--defaults``, which copier parses and
    validates as it does ``--data``, and renders with ``unsafe=True``: that no answer
    needs ``--trust`` is proven by the README command's test, which renders without it.
    """
    result = copie.copy(extra_answers=dict(answers), template_dir=ROOT)
    if result.exception is not None:
        raise result.exception
    assert result.project_dir is not None, result
    return result.project_dir


def written_files(folder: Path) -> list[str]:
    """The files under ``folder`` (pytest-copie makes each copy's folder beforehand)."""
    return sorted(
        path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()
    )


def read_answers(project: Path) -> dict[str, Any]:
    data = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert isinstance(data, dict), f"{project}/.copier-answers.yml is not a mapping: {data!r}"
    return data


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by relative POSIX path, with its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def template_checkout_is_dirty() -> bool:
    """Whether this checkout has uncommitted changes (copier then records a draft commit)."""
    result = subprocess.run(
        ["git", "--no-optional-locks", "status", "--porcelain"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return bool(result.stdout.strip())


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file``; pytest-xdist workers wait for each other."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------------
# Running commands
# ---------------------------------------------------------------------------------------
@contextmanager
def failing_the_test(context: str = "") -> Iterator[None]:
    """Turn a harness error (a command that failed or timed out, an unreachable
    database) into a failure of the test that shows it, without a traceback."""
    try:
        yield
    except commands.CommandFailed as error:
        pytest.fail(f"command failed{context}:\n{error.completed.describe()}", pytrace=False)
    except CommandError as error:
        pytest.fail(str(error), pytrace=False)
    except postgres.DatabaseUnreachable as error:
        pytest.fail(f"{error}\nOr set {PG_SKIP_ENV}=1 to skip the PostgreSQL runs.", pytrace=False)


P = ParamSpec("P")
R = TypeVar("R")


def failing_tests(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` (of the harness), its errors turned into test failures."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with failing_the_test():
            return function(*args, **kwargs)

    return wrapper


#: A command with a timeout; one that outlives it fails the test.
run = failing_tests(commands.run)
#: ``run``, and fail the test showing the command's output unless it exits 0.
check = failing_tests(commands.check)
#: ``project/.venv`` holding ``project[test]``.
build_environment = failing_tests(environments.build_environment)
#: An administrator's connection; an unreachable server fails the test loudly.
connect_admin = failing_tests(postgres.connect_admin)


# ---------------------------------------------------------------------------------------
# A rendered variant with its own environment
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VariantEnv:
    """A rendered project with a virtualenv, at ``project/.venv``, holding its ``[test]`` extra."""

    name: str
    project: Path

    @property
    def venv(self) -> Path:
        return self.project / ".venv"

    def environ(self, **extra: str) -> dict[str, str]:
        return isolated_environ(self.venv, **extra)

    def working_copy(self, destination: Path) -> Path:
        """A copy of the project to change, without the environment (which still runs it)."""
        shutil.copytree(self.project, destination, ignore=shutil.ignore_patterns(".venv"))
        return destination

    def run(self, *args: str, timeout: float = 600, **extra_env: str) -> Completed:
        """Run a command of the environment (``python``, ``ruff``, ...) in the project folder."""
        executable = self.venv / "bin" / args[0]
        assert executable.exists(), f"{args[0]} is not installed in {self.venv}"
        return run(
            [executable, *args[1:]],
            cwd=self.project,
            env=self.environ(**extra_env),
            timeout=timeout,
        )

    def pytest(self, *args: str, timeout: float = 900, **extra_env: str) -> PytestRun:
        """The project's own test suite, as its README runs it, with pytest's ``args``."""
        python: str | os.PathLike[str] = self.venv / "bin" / "python"
        return run_pytest(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
            cwd=self.project,
            env=self.environ(**extra_env),
            timeout=timeout,
        )

    def check(self, *args: str, timeout: float = 600, **extra_env: str) -> Completed:
        result = self.run(*args, timeout=timeout, **extra_env)
        with failing_the_test(f" in variant {self.name}"):
            if result.returncode != 0:
                raise commands.CommandFailed(result)
        return result


def copy_project(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)


# ---------------------------------------------------------------------------------------
# Running a pytest suite: results come from its JUnit XML report, never from its output
# ---------------------------------------------------------------------------------------
OUTCOMES = ("passed", "failed", "error", "skipped")


@dataclass(frozen=True)
class PytestRun:
    """A finished pytest run: the command and its output, and each test's outcome."""

    completed: Completed
    #: ``tests/test_x.py::test_y[param]`` -> one of OUTCOMES.
    outcomes: dict[str, str]

    def count(self, outcome: str) -> int:
        assert outcome in OUTCOMES, outcome
        return sum(1 for value in self.outcomes.values() if value == outcome)

    def tests(self, outcome: str) -> set[str]:
        assert outcome in OUTCOMES, outcome
        return {test for test, value in self.outcomes.items() if value == outcome}

    def counts(self) -> dict[str, int]:
        """The outcomes that occurred, with how often: ``{"passed": 3, "skipped": 1}``."""
        return {outcome: self.count(outcome) for outcome in OUTCOMES if self.count(outcome)}


def junit_outcomes(report: Path) -> dict[str, str]:
    """Each test case of a pytest JUnit XML report, by node id, with its outcome.

    A failure wins over an error of the same test (a failed call with a failing
    teardown is a failure); xfail counts as skipped, strict xpass as failed. A
    collection error is an ``error`` named after the module.
    """
    outcomes: dict[str, str] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        test = f"{classname.replace('.', '/')}.py::{name}" if classname else name
        if case.find("failure") is not None:
            outcomes[test] = "failed"
        elif case.find("error") is not None:
            outcomes[test] = "error"
        elif case.find("skipped") is not None:
            outcomes[test] = "skipped"
        else:
            outcomes[test] = "passed"
    return outcomes


def run_pytest(
    command: Sequence[str | os.PathLike[str]], *, cwd: Path, **options: Unpack[RunOptions]
) -> PytestRun:
    """Run ``command`` (pytest and its arguments; ``run``'s options, ``timeout`` 900 s
    unless given) with a JUnit XML report, and read it.

    Fails the test, with the output, if pytest wrote no report (it could not start).
    """
    options.setdefault("timeout", 900)
    with tempfile.TemporaryDirectory(prefix="pytest-report-") as folder:
        report = Path(folder) / "report.xml"
        result = run([*command, f"--junitxml={report}"], cwd=cwd, **options)
        if not report.exists():
            pytest.fail(f"pytest wrote no report:\n{result.describe()}", pytrace=False)
        return PytestRun(result, junit_outcomes(report))


# ---------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------
def pg_admin_url() -> str:
    return postgres.admin_url()


@contextmanager
def throwaway_database(admin_url: str, hint: str) -> Iterator[str]:
    """``harness.postgres.throwaway_database``; an unreachable server fails the test."""
    with failing_the_test(), postgres.throwaway_database(admin_url, hint) as url:
        yield url


# ---------------------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------------------
MARIADB_SKIP_ENV = "TEMPLATE_TEST_SKIP_MARIADB"


@contextmanager
def throwaway_mariadb_database(hint: str) -> Iterator[str]:
    """``harness.mariadb.throwaway_database``; an unreachable server fails the test."""
    with failing_the_test(), mariadb.throwaway_database(mariadb.admin_url(), hint) as url:
        yield url


#: The fixture (tests/conftest.py) that makes an empty database on each database server.
SERVER_DATABASE_FIXTURES = {"postgresql": "pg_database", "mariadb": "mariadb_database"}


def suite_database_env(database: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment that runs a generated suite on ``database``: for a server,
    ``TEST_DATABASE_URL`` naming an empty database made for the requesting test; for
    SQLite nothing (the suite's own temporary file)."""
    if database == "sqlite":
        return {}
    return {"TEST_DATABASE_URL": request.getfixturevalue(SERVER_DATABASE_FIXTURES[database])}


# ---------------------------------------------------------------------------------------
# Template versions and `copier update`
# ---------------------------------------------------------------------------------------
GIT_IDENTITY = ("-c", "user.name=Template Tests", "-c", "user.email=tests@example.com")


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return result.stdout


def snapshot_of_this_checkout(destination: Path) -> Path:
    """A clone of this repository with the working tree's changes committed in the clone.

    Copier renders uncommitted changes from a temporary commit that a later update
    cannot find again; updates need a real commit. Only the clone is written to.
    """
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(destination)], check=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for relative in filter(None, listed.split("\0")):
        source, target = ROOT / relative, destination / relative
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif target.exists():  # deleted in the working tree, not yet in a commit
            target.unlink()
    git(destination, "add", "-A")
    if git(destination, "status", "--porcelain").strip():
        git(destination, "commit", "--quiet", "--no-verify", "-m", "working tree")
    return destination


def update_project(
    project: Path, answers: Mapping[str, Any] | None = None, vcs_ref: str | None = None
) -> None:
    """``copier update --defaults [--data ...] [--vcs-ref ...]`` inside ``project``."""
    copier.run_update(
        str(project),
        data=dict(answers or {}),
        defaults=True,
        overwrite=True,
        quiet=True,
        unsafe=False,
        vcs_ref=vcs_ref,
    )


def commit_all(project: Path, message: str) -> None:
    """Commit everything in ``project`` (``git init`` first if it is not a repository)."""
    if not (project / ".git").exists():
        git(project, "init", "--quiet", "--initial-branch=main")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "--no-verify", "-m", message)


def without_git(files: dict[str, bytes]) -> dict[str, bytes]:
    return {path: content for path, content in files.items() if not path.startswith(".git/")}
