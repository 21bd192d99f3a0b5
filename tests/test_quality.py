"""Every variant passes its own lint, format and type checks, run with the ruff and mypy
its ``[test]`` extra installs and the configuration in its own pyproject.toml."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import (
    DEFAULT_VARIANT,
    SLUG_PATTERN,
    VARIANT_NAMES,
    VARIANTS,
    VariantEnv,
    check,
    read_answers,
    render,
)

# 56 characters; derives the longest slug allowed, 39 characters.
LONG_NAME = "Customer Account Reconciliation Service Platform Gateway"
LONG_SLUG = "customer_account_reconciliation_service"


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_ruff_check(variant: str, variant_env: Callable[[str], VariantEnv]) -> None:
    variant_env(variant).check("ruff", "check", "--no-cache", ".")


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_ruff_format(variant: str, variant_env: Callable[[str], VariantEnv]) -> None:
    variant_env(variant).check("ruff", "format", "--no-cache", "--check", "--diff", ".")


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_mypy(
    variant: str,
    variant_env: Callable[[str], VariantEnv],
    timing: Callable[[str, str, float], None],
    mypy_cache: Path,
) -> None:
    env = variant_env(variant)
    result = env.run("python", "-m", "mypy", "--cache-dir", str(mypy_cache), ".")
    timing("mypy", variant, result.seconds)
    if result.returncode != 0:
        pytest.fail(f"mypy failed in variant {variant}:\n{result.describe()}", pytrace=False)
    assert "Success: no issues found" in result.output


def test_long_name_derives_the_longest_slug(tmp_path: Path) -> None:
    project = render({"project_name": LONG_NAME}, tmp_path / "service")
    slug = read_answers(project)["project_slug"]
    assert slug == LONG_SLUG
    assert len(slug) == 39
    assert SLUG_PATTERN.match(slug)


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_longest_slug_is_formatted_and_lint_clean(
    tmp_path: Path, variant: str, variant_env: Callable[[str], VariantEnv]
) -> None:
    """Import lines grow with the slug: they must still be what ruff would write."""
    project = render({**VARIANTS[variant], "project_name": LONG_NAME}, tmp_path / "service")
    assert (project / LONG_SLUG).is_dir()
    # Any variant's environment has the same ruff; the long project's own config applies.
    ruff = variant_env(DEFAULT_VARIANT).venv / "bin" / "ruff"
    check([ruff, "format", "--no-cache", "--check", "--diff", "."], cwd=project)
    check([ruff, "check", "--no-cache", "."], cwd=project)
