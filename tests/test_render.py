"""Rendering: the default render works unattended, answers are recorded exactly, every
variant renders to plain files, renders are reproducible, and slugs derive well.

Renders go through pytest-copie's ``copie`` fixture (``copie_render``), except the
session's one render per variant (the ``rendered`` fixture, shared by every worker)."""

from __future__ import annotations

import re
import sys
import tomllib
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_copie.plugin import Copie

from tests.support import (
    ASKED,
    COMPUTED,
    DEFAULT_VARIANT,
    ROOT,
    SLUG_PATTERN,
    VARIANT_NAMES,
    VARIANTS,
    check,
    copie_render,
    git,
    isolated_environ,
    read_answers,
    template_checkout_is_dirty,
    tree,
)

DEFAULTS = {
    "project_name": "Example Service",
    "project_slug": "example_service",
    "description": "A FastAPI service with a deliberate database-session pattern.",
    "author_name": "Service Team",
    "author_email": "team@example.com",
    "python_version": "3.12",
    "database": "sqlite",
    "concurrency": "sync",
    "session_style": "explicit",
    "background_tasks": "fastapi",
}
# GitHub Actions expressions, ${{ ... }}, are the workflow's own syntax, not Jinja's.
TEMPLATE_SYNTAX = re.compile(rb"(?<!\$)\{\{|\{%|\{#")


def test_readme_command_renders_the_default_service_without_trust(tmp_path: Path) -> None:
    """The README's first command, as a user types it: no answers, no --trust."""
    destination = tmp_path / "my-service"
    check(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            ROOT,
            destination,
        ],
        cwd=tmp_path,
        env=isolated_environ(),
    )
    answers = read_answers(destination)
    assert {key: answers[key] for key in ASKED} == DEFAULTS
    package = destination / "example_service"
    for module in ("main.py", "settings.py", "database.py", "services.py", "dependencies.py"):
        assert (package / module).is_file(), f"the default render has no example_service/{module}"
    for path in ("pyproject.toml", "alembic.ini", ".env.example", "README.md", "migrations/env.py"):
        assert (destination / path).is_file(), f"the default render has no {path}"


def test_default_answers_are_the_default_variant() -> None:
    """The matrix's default variant is what `copier copy --defaults` gives."""
    assert VARIANTS[DEFAULT_VARIANT] == {
        "database": DEFAULTS["database"],
        "concurrency": DEFAULTS["concurrency"],
        "session_style": DEFAULTS["session_style"],
        "background_tasks": DEFAULTS["background_tasks"],
    }


def test_default_answers_file_holds_exactly_the_asked_answers(copie: Copie) -> None:
    answers = read_answers(copie_render(copie, {}))
    assert set(answers) == {*ASKED, "_commit", "_src_path"}
    assert {key: answers[key] for key in ASKED} == DEFAULTS
    assert answers["_src_path"] == str(ROOT)
    assert answers["_commit"], "the answers file records no template commit"


@pytest.mark.parametrize("commit_strategy", ["service", "dependency"])
def test_commit_strategy_is_recorded_only_when_asked(copie: Copie, commit_strategy: str) -> None:
    answers = read_answers(
        copie_render(copie, {"session_style": "dependency", "commit_strategy": commit_strategy})
    )
    assert set(answers) == {*ASKED, "commit_strategy", "_commit", "_src_path"}
    assert answers["commit_strategy"] == commit_strategy
    assert answers["session_style"] == "dependency"


def test_commit_strategy_given_with_explicit_sessions_is_not_recorded(copie: Copie) -> None:
    """commit_strategy means nothing without an injected session; it must not be kept."""
    answers = read_answers(
        copie_render(copie, {"session_style": "explicit", "commit_strategy": "dependency"})
    )
    assert "commit_strategy" not in answers


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_answers_file_of_every_variant(variant: str, rendered: Callable[[str], Path]) -> None:
    answers = read_answers(rendered(variant))
    expected_keys = {*ASKED, "_commit", "_src_path"}
    if VARIANTS[variant]["session_style"] == "dependency":
        expected_keys.add("commit_strategy")
    assert set(answers) == expected_keys
    for computed in COMPUTED:
        assert computed not in answers, f"computed value {computed} was recorded"
    for question, value in VARIANTS[variant].items():
        assert answers[question] == value


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_no_template_syntax_left(variant: str, rendered: Callable[[str], Path]) -> None:
    """Every rendered file (and file name) is plain output: no Jinja left unrendered."""
    project = rendered(variant)
    problems: list[str] = []
    files = tree(project)
    assert len(files) > 20, f"suspiciously few files rendered: {sorted(files)}"
    for relative, content in files.items():
        if TEMPLATE_SYNTAX.search(relative.encode()) or relative.endswith(".jinja"):
            problems.append(f"{relative}: template syntax in the file name")
        for number, line in enumerate(content.splitlines(), start=1):
            if TEMPLATE_SYNTAX.search(line):
                problems.append(f"{relative}:{number}: {line.decode(errors='replace').strip()}")
    assert not problems, "unrendered template syntax:\n" + "\n".join(problems)


@pytest.mark.parametrize("variant", [DEFAULT_VARIANT, "postgresql-async-dependency_commit-none"])
def test_rendering_twice_gives_identical_trees(copie: Copie, variant: str) -> None:
    first = tree(copie_render(copie, VARIANTS[variant]))
    second = tree(copie_render(copie, VARIANTS[variant]))
    assert sorted(first) == sorted(second)
    answers = ".copier-answers.yml"
    if template_checkout_is_dirty():
        # Uncommitted template changes are rendered from a draft commit copier makes on
        # the fly, whose id changes with the clock; a clean checkout records its own id.
        for files in (first, second):
            files[answers] = re.sub(rb"(?m)^_commit: .*\n", b"", files[answers])
    different = [path for path in first if first[path] != second[path]]
    assert not different, f"files differ between two renders of {variant}: {different}"


@pytest.mark.parametrize(
    ("project_name", "slug"),
    [
        ("My Billing API", "my_billing_api"),
        ("Example Service", "example_service"),
        ("orders-2-go", "orders_2_go"),
        ("  Ledger  ", "ledger"),
        ("Payments (EU) / v2", "payments_eu_v2"),
    ],
)
def test_default_slug_derives_from_the_name(copie: Copie, project_name: str, slug: str) -> None:
    project = copie_render(copie, {"project_name": project_name})
    assert read_answers(project)["project_slug"] == slug
    assert (project / slug / "main.py").is_file()


@pytest.mark.parametrize(
    "project_name",
    [
        "Customer Account Reconciliation Service Platform Gateway",
        # The 39-character cut lands on a separator, which must not end the slug.
        "a" * 38 + " b",
        "x" * 64,
        "Very Long Name " * 4 + "ABCD",
    ],
)
def test_long_names_give_valid_slugs(copie: Copie, project_name: str) -> None:
    assert len(project_name) <= 64
    project = copie_render(copie, {"project_name": project_name})
    slug = read_answers(project)["project_slug"]
    assert len(slug) <= 39
    assert SLUG_PATTERN.match(slug), slug
    assert not slug.endswith("_"), slug
    assert (project / slug / "main.py").is_file()


def test_a_name_whose_slug_is_invalid_asks_for_a_slug(copie: Copie) -> None:
    """A name starting with a digit derives no valid slug; the user is told to pick one."""
    with pytest.raises(ValueError, match="Validation error for question 'project_slug'") as error:
        copie_render(copie, {"project_name": "2048 Game"})
    assert "'2048_game' is not a valid package name" in str(error.value)
    project = copie_render(copie, {"project_name": "2048 Game", "project_slug": "game_2048"})
    assert (project / "game_2048" / "main.py").is_file()
    assert read_answers(project)["project_name"] == "2048 Game"


def test_free_text_answers_with_quotes_keep_the_project_valid(copie: Copie) -> None:
    """Names and descriptions are free text: quotes and backslashes must not break the code."""
    answers = {
        "project_name": 'Bob\'s "Quoted" \\ API',
        "project_slug": "quoted_api",
        "description": "Says \"hi\" to C:\\Users and 'friends'.",
        "author_name": 'Ann "Ops" O\'Brien',
    }
    project = copie_render(copie, answers)
    recorded = read_answers(project)
    assert {key: recorded[key] for key in answers} == answers
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["description"] == answers["description"]
    assert metadata["authors"][0]["name"] == answers["author_name"]
    broken: list[str] = []
    for path in sorted(project.rglob("*.py")):
        with warnings.catch_warnings():
            # An invalid escape sequence is a warning today and an error tomorrow.
            warnings.simplefilter("error")
            try:
                compile(path.read_text(), str(path), "exec")
            except (SyntaxError, Warning) as error:
                broken.append(f"{path.relative_to(project)}: {error}")
    assert not broken, "rendered Python that does not compile:\n" + "\n".join(broken)


def test_uncommitted_template_changes_are_rendered(copie: Copie, tmp_path: Path) -> None:
    """The tests render the working tree: copie renders HEAD of the template's folder,
    and copier adds a local checkout's uncommitted changes to it. Shown on a clone, so
    this checkout is never written to."""
    clone = tmp_path / "template"
    git(tmp_path, "clone", "--quiet", str(ROOT), str(clone))
    readme = clone / "template" / "README.md.jinja"
    marker = "Uncommitted line of a template author at work."
    readme.write_text(readme.read_text() + f"\n{marker}\n")
    result = copie.copy(extra_answers={}, template_dir=clone)
    assert result.exception is None, result.exception
    assert result.project_dir is not None
    assert marker in (result.project_dir / "README.md").read_text()
