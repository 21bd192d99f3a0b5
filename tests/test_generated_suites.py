"""Every variant's own test suite passes on its database, and on the other one.

The generated tests are the proof that a variant honours the contract's behaviour
(docs/contract.md); this runs them as a user of the generated project would, inside
the project's own environment, from its folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

import pytest

from tests.support import (
    VARIANT_NAMES,
    VARIANTS,
    VariantEnv,
    cross_database_variants,
    mariadb_table_exists,
    other_database,
    suite_database_env,
    table_exists,
)

pytestmark = pytest.mark.matrix

SUITE_TIMEOUT = 900


def run_suite(
    env: VariantEnv,
    timing: Callable[[str, str, float], None],
    backend: str,
    *args: str,
    **extra_env: str,
) -> dict[str, int]:
    assert (env.project / "tests").is_dir(), (
        f"the rendered {env.name} project has no tests/ folder: the template must ship "
        "the generated test suite (template/tests/) that proves the session pattern"
    )
    suite = env.pytest(*args, timeout=SUITE_TIMEOUT, **extra_env)
    result = suite.completed
    timing(f"{'thorough' if args else 'suite'} on {backend}", env.name, result.seconds)
    if result.returncode != 0:
        pytest.fail(
            f"the generated test suite of {env.name} failed on {backend}:\n{result.describe()}",
            pytrace=False,
        )
    counts = suite.counts()
    assert counts.get("passed", 0) > 0, f"the suite ran no tests:\n{result.describe()}"
    assert counts.get("failed", 0) == 0, result.describe()
    assert counts.get("error", 0) == 0, result.describe()
    return counts


def run_on(
    backend: str,
    env: VariantEnv,
    timing: Callable[[str, str, float], None],
    request: pytest.FixtureRequest,
    *args: str,
) -> None:
    """SQLite: TEST_DATABASE_URL unset, the suite's own temporary file. PostgreSQL and
    MariaDB: TEST_DATABASE_URL names an empty database made for this run, without a
    driver. ``args``: pytest's arguments (none: the suite as its README runs it)."""
    if backend == "sqlite":
        run_suite(env, timing, backend, *args)
        return
    database_env = suite_database_env(backend, request)
    url = database_env["TEST_DATABASE_URL"]
    if backend == "mariadb":
        migrated = partial(mariadb_table_exists, url, "alembic_version")
    else:
        migrated = partial(table_exists, url, "public.alembic_version")
    run_suite(env, timing, backend, *args, **database_env)
    # The suite migrates the database it is given; a suite that ignored
    # TEST_DATABASE_URL and passed on SQLite must not count as a run on the server.
    assert migrated(), (
        f"the suite passed but never migrated the {backend} database in TEST_DATABASE_URL"
    )


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_generated_suite_on_its_own_database(
    variant: str,
    variant_env: Callable[[str], VariantEnv],
    timing: Callable[[str, str, float], None],
    request: pytest.FixtureRequest,
) -> None:
    """Every variant, on the database it was generated for."""
    run_on(VARIANTS[variant]["database"], variant_env(variant), timing, request)


def thorough_variants() -> list[str]:
    """The variants whose thorough tier runs: the pairwise sample (every pair of
    answers side by side, so each database meets each concurrency, session pattern
    and background strategy), with TEMPLATE_TEST_FULL_MATRIX=1 all of them. The
    tier's tests are about the database, its driver and the broker; the code they
    run is the same in the variants left out."""
    return cross_database_variants()


@pytest.mark.parametrize("variant", thorough_variants())
def test_generated_thorough_tier_on_its_own_database(
    variant: str,
    variant_env: Callable[[str], VariantEnv],
    timing: Callable[[str, str, float], None],
    request: pytest.FixtureRequest,
) -> None:
    """The tests the default run leaves out (marker ``thorough``: real timeouts, the
    schema fuzzer's full budget), as the generated README runs them."""
    run_on(VARIANTS[variant]["database"], variant_env(variant), timing, request, "-m", "thorough")


@pytest.mark.parametrize("variant", cross_database_variants())
def test_generated_suite_on_the_other_database(
    variant: str,
    variant_env: Callable[[str], VariantEnv],
    timing: Callable[[str, str, float], None],
    request: pytest.FixtureRequest,
) -> None:
    """The same tests pass on the other backend (contract behaviour 9): by default a
    pairwise sample of the variants, with TEMPLATE_TEST_FULL_MATRIX=1 all of them."""
    run_on(other_database(VARIANTS[variant]["database"]), variant_env(variant), timing, request)


#: The celery variant whose broker tests also run on RabbitMQ (every celery suite runs
#: on Redis, the default TEST_BROKER_URL).
RABBITMQ_VARIANT = "postgresql-async-dependency_commit-celery"
RABBITMQ_URL_ENV = "TEMPLATE_TEST_RABBITMQ_URL"


def test_celery_suite_on_rabbitmq(
    variant_env: Callable[[str], VariantEnv],
    timing: Callable[[str, str, float], None],
) -> None:
    """The worker tests pass with an amqp:// broker too, as the contract promises."""
    url = os.environ.get(RABBITMQ_URL_ENV, "amqp://guest:guest@127.0.0.1:5672//")
    env = variant_env(RABBITMQ_VARIANT)
    # Both tiers: a broker that is down is one of the thorough tests.
    suite = env.pytest(
        "tests/test_celery.py",
        "tests/test_celery_faults.py",
        "-m",
        "thorough or not thorough",
        timeout=SUITE_TIMEOUT,
        TEST_BROKER_URL=url,
    )
    timing("celery tests on rabbitmq", env.name, suite.completed.seconds)
    assert suite.completed.returncode == 0, suite.completed.describe()
    counts = suite.counts()
    assert counts.get("passed", 0) >= 8, suite.completed.describe()
    assert set(counts) == {"passed"}, suite.completed.describe()
