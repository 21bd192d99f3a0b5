"""Bad answers are rejected before anything is written, with a message that names the
problem and the fix; unusual but valid answers pass."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from pytest_copie.plugin import Copie

from tests.support import ROOT, copie_render, isolated_environ, read_answers, run, written_files

# (question, bad value, what the message must say: the problem, then the fix)
REJECTED = [
    ("project_slug", "2fast", ["'2fast' is not a valid package name", "starting with a letter"]),
    ("project_slug", "Bad-Slug", ["'Bad-Slug' is not a valid package name", "lowercase letters"]),
    ("project_slug", "x", ["'x' is not a valid package name", "2 to 39 characters"]),
    ("project_slug", "a" * 40, ["is not a valid package name", "2 to 39 characters"]),
    ("project_slug", "class", ["'class' is a Python keyword", "pick another name"]),
    ("project_slug", "async", ["'async' is a Python keyword", "pick another name"]),
    (
        "project_slug",
        "email",
        ["shadow the standard-library module 'email'", "pick a more specific"],
    ),
    ("project_slug", "test", ["shadow the standard-library module 'test'", "pick a more specific"]),
    ("project_slug", "json", ["shadow the standard-library module 'json'", "pick a more specific"]),
    ("project_slug", "fastapi", ["shadow the dependency 'fastapi'", "pick another name"]),
    ("project_slug", "sqlalchemy", ["shadow the dependency 'sqlalchemy'", "pick another name"]),
    ("project_slug", "alembic", ["shadow the dependency 'alembic'", "pick another name"]),
    ("project_slug", "celery", ["shadow the dependency 'celery'", "pick another name"]),
    ("project_slug", "tests", ["already a top-level folder", "pick another name"]),
    ("project_slug", "migrations", ["already a top-level folder", "pick another name"]),
    ("project_name", "", ["must have 1 to 64 characters (it has 0)", "fill it in"]),
    ("project_name", "   ", ["must have 1 to 64 characters (it has 0)", "fill it in"]),
    ("project_name", "n" * 65, ["must have 1 to 64 characters (it has 65)", "shorten it"]),
    ("author_email", "not-an-email", ["'not-an-email' is not a valid email address", "name@"]),
    ("author_email", "team@example", ["'team@example' is not a valid email address", "name@"]),
    ("description", "", ["The description is empty", "write one sentence"]),
    ("author_name", "", ["The author name is empty", "give a person's or a team's name"]),
]

# Values outside a question's choices: copier itself rejects them, naming the question,
# the value and the values it accepts.
NOT_OFFERED = [
    ("python_version", "3.10", ["'3.11'", "'3.12'", "'3.13'"]),
    ("database", "mysql", ["'sqlite'", "'postgresql'", "'mariadb'"]),
    ("concurrency", "threads", ["'sync'", "'async'"]),
    ("session_style", "global", ["'explicit'", "'dependency'"]),
    ("background_tasks", "rq", ["'fastapi'", "'none'", "'celery'"]),
]


def assert_rejected(
    copie: Copie, answers: dict[str, str], prefix: str, fragments: list[str]
) -> None:
    """Render ``answers``: copier's error starts with ``prefix`` and says each fragment,
    and nothing was written."""
    with pytest.raises(ValueError, match=f"^{re.escape(prefix)}") as error:
        copie_render(copie, answers)
    message = str(error.value)
    for fragment in fragments:
        assert fragment in message, message
    assert not written_files(copie.test_dir), "a rejected answer still wrote files"


@pytest.mark.parametrize(
    ("question", "value", "fragments"),
    REJECTED,
    ids=[f"{question}={value[:12]!r}" for question, value, _ in REJECTED],
)
def test_bad_answer_is_rejected_with_the_problem_and_the_fix(
    copie: Copie, question: str, value: str, fragments: list[str]
) -> None:
    prefix = f"Validation error for question '{question}': "
    assert_rejected(copie, {question: value}, prefix, fragments)


@pytest.mark.parametrize(("question", "value", "choices"), NOT_OFFERED)
def test_value_outside_the_choices_is_rejected(
    copie: Copie, question: str, value: str, choices: list[str]
) -> None:
    prefix = f"Invalid choice for '{question}': '{value}' is not in ["
    assert_rejected(copie, {question: value}, prefix, choices)


def test_commit_strategy_outside_its_choices_is_rejected(copie: Copie) -> None:
    with pytest.raises(ValueError, match="Invalid choice for 'commit_strategy'"):
        copie_render(copie, {"session_style": "dependency", "commit_strategy": "never"})


def test_the_command_line_reports_the_problem_and_fails(tmp_path: Path) -> None:
    destination = tmp_path / "service"
    result = run(
        [
            sys.executable, "-m", "copier", "copy", "--defaults", "--vcs-ref", "HEAD",
            "--data", "project_slug=sqlalchemy", ROOT, destination,
        ],
        cwd=tmp_path,
        env=isolated_environ(),
    )  # fmt: skip
    assert result.returncode != 0, result.describe()
    assert "'sqlalchemy' would shadow the dependency 'sqlalchemy'" in result.output
    assert not destination.exists()


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("project_slug", "email_service"),
        ("project_slug", "my_fastapi"),
        ("project_slug", "ab"),
        ("project_slug", "a" * 39),
        ("project_slug", "tests_service"),
        ("project_name", "n" * 64),
        ("project_name", "Zürich Zahlungen ✓"),
        ("author_email", "first.last+ops@mail.example.co.uk"),
        ("python_version", "3.13"),
    ],
)
def test_valid_unusual_answer_passes(copie: Copie, question: str, value: str) -> None:
    project = copie_render(copie, {question: value})
    assert read_answers(project)[question] == value
    slug = read_answers(project)["project_slug"]
    assert (project / slug / "main.py").is_file()
