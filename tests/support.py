"""Plain helpers for the template's own tests (the fixtures built on them are in conftest.py).

Rendering a variant, building its environment with uv, running commands with a timeout,
running a pytest suite and reading its JUnit XML report, and throwaway PostgreSQL databases.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import copier
import matrix
import psycopg
import pytest
import yaml
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent

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

PG_URL_ENV = "TEMPLATE_TEST_PG_URL"
PG_SKIP_ENV = "TEMPLATE_TEST_SKIP_PG"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# Settings of the generated service (and its tests) that must not leak in from the
# environment of whoever runs these tests.
SERVICE_SETTINGS = (
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "DB_POOL_SIZE",
    "DB_MAX_OVERFLOW",
    "DB_POOL_TIMEOUT",
    "EXTERNAL_SERVICE_DELAY_MS",
    "BROKER_URL",
    "BROKER_QUEUE",
    "TEST_BROKER_URL",
    "OUTBOX_RELAY_INTERVAL",
    "OUTBOX_MAX_ATTEMPTS",
    "OUTBOX_BACKOFF_BASE",
    "OUTBOX_BACKOFF_MAX",
)


VARIANTS: dict[str, dict[str, str]] = matrix.variants()
VARIANT_NAMES: list[str] = list(VARIANTS)
#: Set to 1 to run every variant's suite on the other database too, not a sample.
FULL_MATRIX_ENV = "TEMPLATE_TEST_FULL_MATRIX"


def cross_database_variants() -> list[str]:
    """Variants whose suite also runs on the database they were not generated for."""
    if os.environ.get(FULL_MATRIX_ENV) == "1":
        return VARIANT_NAMES
    return matrix.pairwise(VARIANT_NAMES)


#: The variant `copier copy --defaults` renders.
DEFAULT_VARIANT = "sqlite-sync-explicit-fastapi"


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------
def render(
    answers: Mapping[str, Any],
    dst: Path,
    *,
    template: Path = ROOT,
    vcs_ref: str | None = "HEAD",
) -> Path:
    """Render ``template`` (this checkout) into ``dst`` as ``copier copy --defaults --data
    ...`` would; the one way these tests render, whatever the template or release.

    ``vcs_ref="HEAD"`` renders the committed template plus any uncommitted changes of
    this checkout (copier includes them for a local HEAD), so the tests check the
    working tree; ``None`` renders the newest release tag. ``unsafe=False``: no answer
    may need ``--trust``. A rejected answer raises copier's ``ValueError``.
    """
    copier.run_copy(
        str(template),
        str(dst),
        data=dict(answers),
        defaults=True,
        vcs_ref=vcs_ref,
        quiet=True,
        unsafe=False,
    )
    return dst


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
@dataclass(frozen=True)
class Completed:
    args: tuple[str, ...]
    cwd: Path
    returncode: int
    output: str
    seconds: float

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.args)}\n(cwd {self.cwd}, exit {self.returncode}, "
            f"{self.seconds:.1f}s)\n{self.output}"
        )


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> Completed:
    """Run a command, stdout and stderr interleaved; fail the test if it outlives ``timeout``.

    The command gets its own process group, so a timeout also ends whatever it started.
    """
    argv = tuple(os.fspath(arg) for arg in args)
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(
            f"$ {' '.join(argv)}\n(cwd {cwd}) did not finish within {timeout:.0f}s "
            f"and was killed. Output so far:\n{output}",
            pytrace=False,
        )
    return Completed(argv, cwd, process.returncode, output, time.monotonic() - started)


def check(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> Completed:
    """``run``, and fail the test showing the command's output unless it exits 0."""
    result = run(args, cwd=cwd, env=env, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"command failed:\n{result.describe()}", pytrace=False)
    return result


def isolated_environ(venv: Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment minus what would leak into a generated project's run.

    With ``venv``, its ``bin`` comes first on PATH, as after ``. .venv/bin/activate``.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SERVICE_SETTINGS
        and key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX"}
        # pytest and pytest-xdist talk to their own child processes through these.
        and not key.startswith(("PYTEST_", "PYTHONBREAKPOINT"))
    }
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------
# A rendered variant with its own environment
# ---------------------------------------------------------------------------------------
def uv_binary() -> str:
    """The uv executable installed with this repository's dev extra."""
    from uv import find_uv_bin

    return str(find_uv_bin())


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
        if result.returncode != 0:
            pytest.fail(
                f"command failed in variant {self.name}:\n{result.describe()}", pytrace=False
            )
        return result


def build_environment(project: Path) -> tuple[Completed, Completed]:
    """Create ``project/.venv`` with this interpreter and install ``project[test]`` into it.

    Python is never downloaded; packages come from uv's cache (UV_CACHE_DIR, shared by
    pytest-xdist workers) when they are there.
    """
    uv = uv_binary()
    env = isolated_environ(UV_PYTHON_DOWNLOADS="never")
    venv = project / ".venv"
    created = check([uv, "venv", "--quiet", "--python", sys.executable, venv], cwd=project, env=env)
    installed = check(
        [uv, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "-e", ".[test]"],
        cwd=project,
        env=env,
        timeout=900,
    )
    return created, installed


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
    command: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 900,
) -> PytestRun:
    """Run ``command`` (pytest and its arguments) with a JUnit XML report, and read it.

    Fails the test, with the output, if pytest wrote no report (it could not start).
    """
    with tempfile.TemporaryDirectory(prefix="pytest-report-") as folder:
        report = Path(folder) / "report.xml"
        result = run([*command, f"--junitxml={report}"], cwd=cwd, env=env, timeout=timeout)
        if not report.exists():
            pytest.fail(f"pytest wrote no report:\n{result.describe()}", pytrace=False)
        return PytestRun(result, junit_outcomes(report))


# ---------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------
def pg_admin_url() -> str:
    return os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def with_database(url: str, database: str) -> str:
    """``url`` naming another database on the same server (same user, host, options)."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def database_name(hint: str) -> str:
    """A fresh database name from a test id: ``tt_<id>_<random>``, within 63 bytes."""
    stem = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")[:45]
    return f"tt_{stem}_{secrets.token_hex(4)}"


def connect_admin(admin_url: str) -> psycopg.Connection[Any]:
    """Connect as the administrator; fail the test loudly if the server is unreachable."""
    try:
        return psycopg.connect(admin_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        problem = str(error).strip()
    pytest.fail(
        f"PostgreSQL is unreachable at {redact(admin_url)}: {problem}\n"
        "Start it (the CI script does: .ci/run), point "
        f"{PG_URL_ENV} at a server where you may create databases, or set "
        f"{PG_SKIP_ENV}=1 to skip the PostgreSQL runs.",
        pytrace=False,
    )


@contextmanager
def throwaway_database(admin_url: str, hint: str) -> Iterator[str]:
    """Create an empty database, yield its URL, and drop it (even if still in use) after."""
    name = database_name(hint)
    admin_database = urlsplit(admin_url).path.lstrip("/") or "postgres"
    assert name not in {admin_database, "postgres", "template0", "template1"}
    with connect_admin(admin_url) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(admin_url, name)
    finally:
        with connect_admin(admin_url) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def database_exists(admin_url: str, name: str) -> bool:
    with connect_admin(admin_url) as connection:
        row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None


def table_exists(url: str, table: str) -> bool:
    """Whether ``table`` exists in the database ``url`` names."""
    with connect_admin(url) as connection:
        row = connection.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        return bool(row and row[0])


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
