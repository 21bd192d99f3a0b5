"""Living with a generated service: updates across template releases and answer switches.

A temporary clone of this checkout gets two release tags: ``v0.1.0`` (the template as it
is) and ``v0.2.0`` (``team_edits.release_changes`` on top). Tags do not travel with this
repository's submissions, so the tests make the ones they need.

- Update: a service rendered from v0.1.0 and edited by its team (``team_edits.team_edit``)
  is updated with a plain ``copier update --defaults``; the result must equal a fresh
  v0.2.0 render with the same edits, file for file (edits kept, every other file the new
  template's, no conflict markers or ``.rej`` files), and its tests of what the edits and
  the release touch must pass.
- Switch: ``copier update --defaults --data answer=value`` on an edited service must equal a
  fresh render of the new answers with the same edits, and pass those tests.
- Conflict: when the team and the template changed the same lines, the update still exits
  0, but the file is marked unmerged and the project's pre-commit refuses the markers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support import (
    ROOT,
    VARIANTS,
    VariantEnv,
    build_environment,
    check,
    commit_all,
    exclusive,
    git,
    isolated_environ,
    read_answers,
    render,
    snapshot_of_this_checkout,
    suite_database_env,
    tree,
    update_project,
    without_git,
)
from tests.team_edits import (
    README_SECTION,
    edit_service_method,
    release_changes,
    resolve_with_the_template_side,
    team_edit,
)

OLD, NEW = "v0.1.0", "v0.2.0"
CONFLICT_MARKERS = (b"<<<<<<< ", b">>>>>>> ")


@pytest.fixture(scope="session")
def releases(run_dir: Path) -> Path:
    """A clone of this checkout tagged v0.1.0 (as it is) and v0.2.0 (a release later).

    Built once per run, shared by pytest-xdist workers.
    """
    folder = run_dir / "releases" / "template"
    done = folder.with_suffix(".done")
    with exclusive(folder.with_suffix(".lock")):
        if not done.exists():
            if folder.exists():
                shutil.rmtree(folder)
            snapshot_of_this_checkout(folder)
            tags = git(folder, "tag", "--list").split()
            if tags:
                git(folder, "tag", "--delete", *tags)
            git(folder, "tag", OLD)
            release_changes(folder)
            git(folder, "add", "--all")
            git(folder, "commit", "--quiet", "-m", "0.2.0")
            git(folder, "tag", NEW)
            done.touch()
    return folder


def differences(actual: Path, expected: Path) -> list[str]:
    """Paths whose content differs, or that exist on one side only (.git and .venv aside)."""
    left = {k: v for k, v in without_git(tree(actual)).items() if not k.startswith(".venv/")}
    right = tree(expected)
    return sorted(
        [f"only in the update: {path}" for path in left.keys() - right.keys()]
        + [f"missing from the update: {path}" for path in right.keys() - left.keys()]
        + [f"differs: {path}" for path in left.keys() & right.keys() if left[path] != right[path]]
    )


def assert_no_conflicts(project: Path) -> None:
    leftovers = [
        path
        for path, content in without_git(tree(project)).items()
        if path.endswith(".rej")
        or any(line.startswith(CONFLICT_MARKERS) for line in content.splitlines())
    ]
    assert not leftovers, f"conflict markers or .rej files after the update: {leftovers}"
    assert git(project, "diff", "--name-only", "--diff-filter=U") == ""


#: The tests of an updated or switched service that cover what the team and the release
#: changed: the team's route and its test, the routes' declared errors (the team's
#: addition to the OpenAPI pins), the edited list method, the schema fuzzer over every
#: route, and the migrations. The rest of the suite is not run again: the tree equals a
#: fresh render of the same answers plus the same edits (``differences``), and the fresh
#: render's whole suite runs in test_generated_suites.py.
CHANGED_BY_THE_EDITS = (
    "tests/test_version.py",
    "tests/test_api.py",
    "tests/test_openapi.py",
    "tests/test_schema.py",
    "tests/test_migrations.py",
)


def run_suite(project: Path, name: str, **extra_env: str) -> dict[str, int]:
    """The tests the edits touch (``CHANGED_BY_THE_EDITS``), in a fresh environment of the
    project's own (uv, warm cache)."""
    build_environment(project)
    suite = VariantEnv(name, project).pytest("-x", *CHANGED_BY_THE_EDITS, timeout=900, **extra_env)
    result = suite.completed
    if result.returncode != 0:
        pytest.fail(f"the suite of the updated {name} failed:\n{result.describe()}", pytrace=False)
    assert suite.count("passed") > 0, result.describe()
    # The team's own test ran and passed along with the generated ones.
    assert "tests/test_version.py::test_version_is_the_installed_distribution" in suite.tests(
        "passed"
    ), result.describe()
    return suite.counts()


def edited_render(
    template: Path, answers: Mapping[str, Any], destination: Path, ref: str, **edits: bool
) -> Path:
    project = render(answers, destination, template=template, vcs_ref=ref)
    team_edit(project, **edits)
    return project


# ---------------------------------------------------------------------------------------
# Update to the newest release, per session pattern and concurrency
# ---------------------------------------------------------------------------------------
UPDATE_CASES = {
    f"{pattern}-{concurrency}": {
        **VARIANTS[f"{database}-{concurrency}-{pattern}-{background}"],
        "project_name": "Payments API",
    }
    for pattern in ("explicit", "dependency_commit", "service_commit")
    for concurrency, database, background in (
        ("sync", "sqlite", "fastapi"),
        ("async", "postgresql", "none"),
    )
}


@pytest.mark.parametrize("case", list(UPDATE_CASES))
def test_update_to_the_newest_release_keeps_the_team_edits(
    case: str, releases: Path, tmp_path: Path
) -> None:
    answers = UPDATE_CASES[case]
    project = edited_render(releases, answers, tmp_path / "service", OLD)
    assert read_answers(project)["_commit"] == OLD
    commit_all(project, "generated from 0.1.0, then our changes")

    update_project(project)  # `copier update --defaults`: the newest release

    assert read_answers(project)["_commit"] == NEW
    expected = edited_render(releases, answers, tmp_path / "expected", NEW)
    assert differences(project, expected) == []
    assert_no_conflicts(project)
    # The release's changes did arrive (in a file the team also edited, and a new file).
    assert README_SECTION.splitlines()[1] in (project / "README.md").read_text()
    assert (project / "docs" / "operations.md").is_file()
    commit_all(project, "update to 0.2.0")
    run_suite(project, f"updated {case}")


# ---------------------------------------------------------------------------------------
# Switching an answer with `copier update --data`
# ---------------------------------------------------------------------------------------
def pattern(name: str) -> dict[str, str]:
    return {
        key: value
        for key, value in VARIANTS[f"sqlite-sync-{name}-fastapi"].items()
        if key in {"session_style", "commit_strategy"}
    }


BASE = {"project_name": "Payments API"}


def answers_of(variant: str) -> dict[str, str]:
    return {**BASE, **VARIANTS[variant]}


#: switch: (answers before, answers given with --data, whether services.py is rewritten).
#: A switch of session pattern or concurrency rewrites every line of the service methods,
#: so the team's change to one comes back as a marked conflict there, and only there.
#: Pattern and concurrency switches land on the answers of an update case (sync: SQLite
#: with FastAPI background tasks; async: PostgreSQL without), whose suite the update test
#: runs on a byte-identical tree; the other switches run their own.
SWITCHES: dict[str, tuple[dict[str, str], dict[str, str], bool]] = {
    "explicit->dependency_commit": (
        answers_of("sqlite-sync-explicit-fastapi"),
        pattern("dependency_commit"),
        True,
    ),
    "explicit->service_commit": (
        answers_of("postgresql-async-explicit-none"),
        pattern("service_commit"),
        True,
    ),
    "dependency_commit->explicit": (
        answers_of("postgresql-async-dependency_commit-none"),
        pattern("explicit"),
        True,
    ),
    "dependency_commit->service_commit": (
        answers_of("sqlite-sync-dependency_commit-fastapi"),
        pattern("service_commit"),
        True,
    ),
    "service_commit->explicit": (
        answers_of("sqlite-sync-service_commit-fastapi"),
        pattern("explicit"),
        True,
    ),
    "service_commit->dependency_commit": (
        answers_of("postgresql-async-service_commit-none"),
        pattern("dependency_commit"),
        True,
    ),
    "sync->async": (
        answers_of("postgresql-sync-explicit-none"),
        {"concurrency": "async"},
        True,
    ),
    "async->sync": (
        answers_of("sqlite-async-service_commit-fastapi"),
        {"concurrency": "sync"},
        True,
    ),
    "sqlite->postgresql": (
        answers_of("sqlite-sync-explicit-fastapi"),
        {"database": "postgresql"},
        False,
    ),
    "postgresql->sqlite": (
        answers_of("postgresql-async-explicit-fastapi"),
        {"database": "sqlite"},
        False,
    ),
    "postgresql->mariadb": (
        answers_of("postgresql-sync-service_commit-fastapi"),
        {"database": "mariadb"},
        False,
    ),
    "fastapi->none": (
        answers_of("sqlite-sync-dependency_commit-fastapi"),
        {"background_tasks": "none"},
        False,
    ),
    "none->fastapi": (
        answers_of("postgresql-sync-service_commit-none"),
        {"background_tasks": "fastapi"},
        False,
    ),
}


def combined(before: Mapping[str, str], change: Mapping[str, str]) -> dict[str, str]:
    answers = {**before, **change}
    if answers["session_style"] == "explicit":
        answers.pop("commit_strategy", None)
    return answers


@pytest.mark.parametrize("switch", list(SWITCHES))
def test_switching_an_answer_gives_the_new_render_plus_the_team_edits(
    switch: str, releases: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    before, change, rewrites_services = SWITCHES[switch]
    after = combined(before, change)
    project = edited_render(releases, before, tmp_path / "service", NEW)
    commit_all(project, "generated, then our changes")

    update_project(project, change)

    answers = read_answers(project)
    for key, value in after.items():
        assert answers[key] == value, (key, answers)
    services = f"{answers['project_slug']}/services.py"
    conflicted = git(project, "diff", "--name-only", "--diff-filter=U").split()
    if rewrites_services:
        # Marked, never silent: resolve as a user would, taking the new pattern's code
        # and making the team's change to it again.
        assert conflicted == [services]
        resolve_with_the_template_side(project / services)
        edit_service_method(project / services)
        git(project, "add", services)
    else:
        assert conflicted == []
    expected = edited_render(releases, after, tmp_path / "expected", NEW)
    assert differences(project, expected) == []
    assert_no_conflicts(project)
    same_as_update = [case for case, answers in UPDATE_CASES.items() if answers == after]
    if same_as_update:
        # Byte for byte the tree whose suite test_update_to_the_newest_release_keeps_the_
        # team_edits[<case>] runs (both equal the same edited fresh render): the suite's
        # result is that one's, so it is not run twice.
        return
    # When the production database is now a server, the tests run on it.
    run_suite(project, f"switched {switch}", **suite_database_env(after["database"], request))


# ---------------------------------------------------------------------------------------
# A conflict is never silent
# ---------------------------------------------------------------------------------------
def test_a_conflicting_update_is_marked_and_refused_by_pre_commit(
    releases: Path, tmp_path: Path, mypy_cache: Path
) -> None:
    """The team and release 0.2.0 both add a section at the end of the README."""
    project = render(
        answers_of("sqlite-sync-explicit-fastapi"),
        tmp_path / "service",
        template=releases,
        vcs_ref=OLD,
    )
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Runbook\n\nPage #payments-oncall.\n")
    commit_all(project, "our runbook")

    update_project(project)  # exits normally: copier does not fail on a conflict

    assert git(project, "diff", "--name-only", "--diff-filter=U").split() == ["README.md"]
    text = readme.read_text()
    assert "<<<<<<< before updating" in text
    assert ">>>>>>> after updating" in text
    build_environment(project)
    env = VariantEnv("conflicted", project)
    git(project, "add", "-A")  # as a user would after "resolving"
    result = env.run("pre-commit", "run", "--all-files", MYPY_CACHE_DIR=str(mypy_cache))
    assert result.returncode != 0, result.describe()
    assert "no unresolved conflict markers" in result.output
    assert "README.md:" in result.output, result.describe()
    # Resolved: keep both sections, drop the markers; every hook passes again.
    kept = [
        line
        for line in text.splitlines(keepends=True)
        if not line.startswith(("<<<<<<< ", "=======", ">>>>>>> "))
    ]
    readme.write_text("".join(kept))
    git(project, "add", "-A")
    env.check("pre-commit", "run", "--all-files", MYPY_CACHE_DIR=str(mypy_cache))


# ---------------------------------------------------------------------------------------
# The README, as written: quick start from a fresh clone, commit, template change, update
# ---------------------------------------------------------------------------------------
def readme_commands(section: str) -> list[str]:
    readme = (ROOT / "README.md").read_text()
    body = readme.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", body, re.DOTALL)]


def test_readme_quick_start_then_update_as_written(tmp_path: Path) -> None:
    """Exactly the README's commands: `.` as the source, then `copier update` in the service."""
    clone = snapshot_of_this_checkout(tmp_path / "fastapi-session-patterns")
    env = isolated_environ(
        GIT_AUTHOR_NAME="Tester",
        GIT_AUTHOR_EMAIL="tester@example.com",
        GIT_COMMITTER_NAME="Tester",
        GIT_COMMITTER_EMAIL="tester@example.com",
    )
    env.pop("VIRTUAL_ENV", None)
    generate = readme_commands("Quick start")[0]
    check(["bash", "-euo", "pipefail", "-c", generate], cwd=clone, env=env, timeout=900)
    service = tmp_path / "my-service"
    assert read_answers(service)["_src_path"] == str(clone)
    first, later = readme_commands("Updating a generated service")[:2]
    # The README's commands run from the template's folder, as after the quick start.
    check(["bash", "-euo", "pipefail", "-c", first], cwd=clone, env=env)
    # A template change, committed in the template's clone.
    env_example = clone / "template" / ".env.example.jinja"
    env_example.write_text(env_example.read_text() + "\n# A setting from a later template.\n")
    git(clone, "commit", "--quiet", "--all", "-m", "template change")
    # ... released as the README's "Releases" section says (a tag, newest wins).
    git(clone, "tag", "v99.0.0")
    activated = {**env, "PATH": f"{clone / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"}
    result = check(["bash", "-euo", "pipefail", "-c", later], cwd=service, env=activated)
    assert "# A setting from a later template." in (service / ".env.example").read_text()
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=service, capture_output=True, text=True, check=True
    ).stdout
    assert ".env.example" in status, result.describe()
    assert read_answers(service)["_commit"] == "v99.0.0"


@pytest.mark.parametrize("source", [".", "../template", "git+file://{template}"])
def test_the_recorded_source_is_found_by_a_later_update(
    source: str, releases: Path, tmp_path: Path
) -> None:
    """Relative paths are recorded absolute; URLs as given. Either way the update, run with
    the CLI inside the service, reaches the newest release."""
    template = tmp_path / "template"
    shutil.copytree(releases, template)
    typed = source.format(template=template)
    cwd = template if source == "." else tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    service = tmp_path / "service"
    copier_cli = [sys.executable, "-m", "copier"]
    env = isolated_environ()
    check(
        [*copier_cli, "copy", "--defaults", "--quiet", "--vcs-ref", OLD, typed, service],
        cwd=cwd,
        env=env,
    )
    recorded = read_answers(service)["_src_path"]
    assert recorded == (typed if typed.startswith("git+") else str(template))
    commit_all(service, "generated")
    check([*copier_cli, "update", "--defaults", "--quiet"], cwd=service, env=env)
    assert read_answers(service)["_commit"] == NEW
    assert read_answers(service)["_src_path"] == recorded
    assert README_SECTION.splitlines()[1] in (service / "README.md").read_text()
