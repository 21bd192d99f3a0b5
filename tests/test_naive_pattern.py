"""The generated tests have teeth: on the naive session pattern they fail.

Each case takes a rendered variant, replaces its session code (``dependencies.py``)
with the pattern most FastAPI services copy: one ``get_db`` dependency yielding a
session for the whole request, the default dependency scope, a commit after
``yield``. The generated suite must then fail the proofs that pattern breaks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import (
    VARIANT_NAMES,
    VARIANTS,
    PytestRun,
    VariantEnv,
    run_pytest,
    suite_database_env,
)

pytestmark = pytest.mark.matrix

# What replaces dependencies.py. Services of the explicit pattern open their own units
# of work from a session factory; the naive code hands every one of them the request's
# single session instead (RequestSession), which is what code built on get_db does.
NAIVE_SYNC = '''"""The naive pattern, swapped in by the template's tests."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from {slug}.resources import ExternalServiceDep, SessionFactoryDep
from {slug}.services import UserService


def get_db(sessions: SessionFactoryDep) -> Iterator[Session]:
    db = sessions()
    try:
        yield db
        db.commit()
    finally:
        db.close()


class RequestSession:
    def __init__(self, session: Session) -> None:
        self._session = session

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        yield self._session

    @contextmanager
    def begin(self) -> Iterator[Session]:
        yield self._session


def get_user_service(
    db: Annotated[Session, Depends(get_db)], external: ExternalServiceDep
) -> UserService:
    return UserService({session}, external){ignore}


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
'''

NAIVE_ASYNC = '''"""The naive pattern, swapped in by the template's tests."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from {slug}.resources import ExternalServiceDep, SessionFactoryDep
from {slug}.services import UserService


async def get_db(sessions: SessionFactoryDep) -> AsyncIterator[AsyncSession]:
    db = sessions()
    try:
        yield db
        await db.commit()
    finally:
        await db.close()


class SharedSession:
    """The request's session as each unit of work of a service sees it: the units use it
    but never commit or close it; get_db does, once, after the response."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def __aenter__(self) -> "SharedSession":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class RequestSession:
    """What the services take for a session factory (``async with sessions()`` and
    ``async with sessions.begin()``): the request's one session, every time."""

    def __init__(self, session: AsyncSession) -> None:
        self._shared = SharedSession(session)

    def __call__(self) -> SharedSession:
        return self._shared

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[SharedSession]:
        yield self._shared


async def get_user_service(
    db: Annotated[AsyncSession, Depends(get_db)], external: ExternalServiceDep
) -> UserService:
    return UserService({session}, external){ignore}


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
'''

COMMIT_FAILURE = "tests/test_commit.py::test_commit_failure_is_reported_and_leaves_nothing[create]"
BACKGROUND = "tests/test_background.py::test_task_sees_what_the_request_committed"
STALE_READ = "tests/test_process.py::test_process_returns_fresh_credits[0]"
POOL = "tests/test_pool.py::test_three_times_the_pool_with_a_slow_external_service"

# variant -> the proofs the naive pattern must fail there. The injected-session
# variant re-reads with populate_existing in its service layer, which the swap keeps,
# so its stale-read proof still passes; its commit timing and pool use do not.
CASES = {
    "sqlite-sync-explicit-fastapi": {COMMIT_FAILURE, BACKGROUND, STALE_READ, POOL},
    "sqlite-async-explicit-fastapi": {COMMIT_FAILURE, BACKGROUND, STALE_READ, POOL},
    "sqlite-sync-dependency_commit-fastapi": {COMMIT_FAILURE, BACKGROUND, POOL},
    # MariaDB has no deferred constraints: its commit-failure proof kills the connection
    # between flush and COMMIT, which the naive code meets after the 200 is sent.
    "mariadb-async-dependency_commit-fastapi": {COMMIT_FAILURE, BACKGROUND, POOL},
}
PROOFS = [
    "tests/test_commit.py",
    "tests/test_background.py",
    "tests/test_process.py",
    "tests/test_pool.py",
]


def naive_dependencies(variant: str) -> str:
    explicit = "-explicit-" in variant
    module = NAIVE_ASYNC if "-async-" in variant else NAIVE_SYNC
    return module.format(
        slug="example_service",
        session="RequestSession(db)" if explicit else "db",
        ignore="  # type: ignore[arg-type]" if explicit else "",
    )


def run_tests(env: VariantEnv, project: Path, *tests: str, **extra_env: str) -> PytestRun:
    """Run ``tests`` of ``project``, a changed copy of ``env``'s, in ``env``'s environment."""
    python = env.venv / "bin" / "python"
    return run_pytest(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=project,
        env=env.environ(**extra_env),
    )


def test_every_case_names_a_matrix_variant() -> None:
    assert set(CASES) <= set(VARIANT_NAMES)


@pytest.mark.parametrize("variant", sorted(CASES))
def test_naive_session_code_fails_the_proofs(
    variant: str,
    variant_env: Callable[[str], VariantEnv],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    env = variant_env(variant)
    project = env.working_copy(tmp_path / "naive")
    (project / "example_service" / "dependencies.py").write_text(naive_dependencies(variant))
    database_env = suite_database_env(VARIANTS[variant]["database"], request)
    suite = run_tests(env, project, *PROOFS, **database_env)
    result = suite.completed
    assert result.returncode == 1, (
        f"the suite did not fail on the naive pattern:\n{result.describe()}"
    )
    missing = CASES[variant] - suite.tests("failed") - suite.tests("error")
    assert not missing, f"passed on the naive pattern: {sorted(missing)}\n{result.describe()}"


# The naive Celery route: enqueue inside the request, before its unit of work commits
# (here the dependency commits after the endpoint returns), as `task.delay(...)` in an
# endpoint does. Its outbox row keeps the email from being lost, so what must fail are
# the proofs of ordering: nothing published for a request failing at COMMIT, and
# publishing after the response without a connection.
CELERY_VARIANT = "sqlite-sync-dependency_commit-celery"
PUBLISHED_AFTER_COMMIT = {
    "tests/test_celery.py::test_nothing_is_published_for_a_request_failing_at_commit",
    "tests/test_celery.py::test_publishing_waits_for_the_response_and_holds_no_connection",
}


def test_enqueueing_before_the_commit_fails_the_celery_proofs(
    variant_env: Callable[[str], VariantEnv], tmp_path: Path
) -> None:
    env = variant_env(CELERY_VARIANT)
    project = env.working_copy(tmp_path / "naive")
    routes = project / "example_service" / "api" / "users.py"
    source = routes.read_text()
    after_response = "background_tasks.add_task(queue.publish, message_id)"
    assert after_response in source
    routes.write_text(source.replace(after_response, "queue.publish(message_id)"))
    suite = run_tests(env, project, "tests/test_celery.py")
    result = suite.completed
    assert result.returncode == 1, f"the suite did not fail:\n{result.describe()}"
    missing = PUBLISHED_AFTER_COMMIT - suite.tests("failed") - suite.tests("error")
    assert not missing, f"passed on the naive route: {sorted(missing)}\n{result.describe()}"


# The naive import: each row in its savepoint, but the error caught inside the
# ``begin_nested()`` block, so the block ends as if the row had been stored and the
# transaction is never rolled back to the savepoint. PostgreSQL then refuses the
# rest of the transaction (the RELEASE first), and the import fails as a whole;
# SQLite undoes only the failed statement, so the proof runs on PostgreSQL.
SAVEPOINT_PER_ROW = re.compile(
    r"(?P<i> +)try:\n"
    r"(?P=i)    (?P<savepoint>(?:async )?with \S+\.begin_nested\(\):)\n"
    r"(?P=i)        (?P<insert>user = .*)\n"
    r"(?P=i)except EmailTakenError:\n"
    r"(?P<handler>(?:(?P=i)    .*\n)+?)"
    r"(?P=i)else:\n"
    r"(?P=i)    (?P<created>created\.append\(.*\))\n"
)
IMPORT_VARIANTS = ["sqlite-sync-explicit-fastapi", "sqlite-async-dependency_commit-fastapi"]
KEEPS_THE_GOOD_ROWS = (
    "tests/test_import.py::test_conflicting_rows_are_rolled_back_and_the_rest_kept"
)


def caught_inside_the_savepoint(services: str) -> str:
    def naive(match: re.Match[str]) -> str:
        i = match["i"]
        handler = "".join(f"    {line}\n" for line in match["handler"].splitlines())
        return (
            f"{i}{match['savepoint']}\n"
            f"{i}    try:\n"
            f"{i}        {match['insert']}\n"
            f"{i}    except EmailTakenError:\n"
            f"{handler}"
            f"{i}        continue\n"
            f"{i}{match['created']}\n"
        )

    swapped, found = SAVEPOINT_PER_ROW.subn(naive, services)
    assert found == 1, "the import loop of services.py has changed shape"
    return swapped


@pytest.mark.parametrize("variant", IMPORT_VARIANTS)
def test_catching_the_error_inside_the_savepoint_fails_the_import_proofs(
    variant: str,
    variant_env: Callable[[str], VariantEnv],
    pg_database: str,
    tmp_path: Path,
) -> None:
    env = variant_env(variant)
    project = env.working_copy(tmp_path / "naive")
    services = project / "example_service" / "services.py"
    services.write_text(caught_inside_the_savepoint(services.read_text()))
    suite = run_tests(env, project, "tests/test_import.py", TEST_DATABASE_URL=pg_database)
    result = suite.completed
    assert result.returncode == 1, f"the suite did not fail:\n{result.describe()}"
    assert KEEPS_THE_GOOD_ROWS in suite.tests("failed"), result.describe()
