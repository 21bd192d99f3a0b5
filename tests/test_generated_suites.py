"""Every variant's own test suite passes on SQLite and on PostgreSQL.

The generated tests are the proof that a variant honours the contract's behaviour
(docs/contract.md); this runs them as a user of the generated project would, inside
the project's own environment, from its folder.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support import VARIANT_NAMES, VariantEnv, pytest_counts, table_exists

pytestmark = pytest.mark.matrix

SUITE = ("python", "-m", "pytest", "-q", "-p", "no:cacheprovider")
SUITE_TIMEOUT = 900


def run_suite(
    env: VariantEnv, timing: Callable[[str, str, float], None], backend: str, **extra_env: str
) -> dict[str, int]:
    assert (env.project / "tests").is_dir(), (
        f"the rendered {env.name} project has no tests/ folder: the template must ship "
        "the generated test suite (template/tests/) that proves the session pattern"
    )
    result = env.run(*SUITE, timeout=SUITE_TIMEOUT, **extra_env)
    timing(f"suite on {backend}", env.name, result.seconds)
    if result.returncode != 0:
        pytest.fail(
            f"the generated test suite of {env.name} failed on {backend}:\n{result.describe()}",
            pytrace=False,
        )
    counts = pytest_counts(result.output)
    assert counts.get("passed", 0) > 0, f"the suite ran no tests:\n{result.describe()}"
    assert counts.get("failed", 0) == 0, result.describe()
    assert counts.get("errors", 0) == 0, result.describe()
    return counts


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_generated_suite_on_sqlite(
    variant: str,
    variant_env: Callable[[str], VariantEnv],
    timing: Callable[[str, str, float], None],
) -> None:
    """TEST_DATABASE_URL unset: the suite's own temporary SQLite file."""
    run_suite(variant_env(variant), timing, "sqlite")


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_generated_suite_on_postgresql(
    variant: str,
    variant_env: Callable[[str], VariantEnv],
    timing: Callable[[str, str, float], None],
    pg_database: str,
) -> None:
    """TEST_DATABASE_URL: an empty database made for this run, URL without a driver."""
    run_suite(variant_env(variant), timing, "postgresql", TEST_DATABASE_URL=pg_database)
    # The suite migrates the database it is given; a suite that ignored
    # TEST_DATABASE_URL and passed on SQLite must not count as a PostgreSQL run.
    assert table_exists(pg_database, "public.alembic_version"), (
        "the suite passed but never migrated the PostgreSQL database in TEST_DATABASE_URL"
    )
