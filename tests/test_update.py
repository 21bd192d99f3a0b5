"""`copier update` on a generated service: answers are kept, changing one answer gives
exactly what a fresh render with that answer gives, and an update with nothing new is
a no-op."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import copier

from tests.support import ROOT, read_answers, tree

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


def copy(template: Path, answers: dict[str, str], destination: Path) -> Path:
    copier.run_copy(
        str(template),
        str(destination),
        data=answers,
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
        unsafe=False,
    )
    return destination


def update(project: Path, answers: dict[str, str] | None = None) -> None:
    copier.run_update(
        str(project),
        data=answers or {},
        defaults=True,
        overwrite=True,
        quiet=True,
        unsafe=False,
    )


def without_git(files: dict[str, bytes]) -> dict[str, bytes]:
    return {path: content for path, content in files.items() if not path.startswith(".git/")}


def test_update_changes_exactly_what_the_answer_changes(tmp_path: Path) -> None:
    template = snapshot_of_this_checkout(tmp_path / "template")
    project = copy(template, {"project_name": "Billing API"}, tmp_path / "billing")
    assert (project / "billing_api" / "background.py").is_file()
    git(project, "init", "--quiet")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "generated")

    update(project, {"background_tasks": "none", "concurrency": "async"})

    answers = read_answers(project)
    assert answers["background_tasks"] == "none"
    assert answers["concurrency"] == "async"
    assert answers["project_name"] == "Billing API"
    assert answers["project_slug"] == "billing_api"
    fresh = copy(
        template,
        {"project_name": "Billing API", "background_tasks": "none", "concurrency": "async"},
        tmp_path / "fresh",
    )
    updated, expected = without_git(tree(project)), tree(fresh)
    assert sorted(updated) == sorted(expected)
    different = [path for path in expected if updated[path] != expected[path]]
    assert not different, f"the update differs from a fresh render in: {different}"
    assert not (project / "billing_api" / "background.py").exists()


def test_update_without_changes_is_a_no_op(tmp_path: Path) -> None:
    template = snapshot_of_this_checkout(tmp_path / "template")
    project = copy(template, {"session_style": "dependency"}, tmp_path / "service")
    git(project, "init", "--quiet")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "generated")

    update(project)

    assert git(project, "status", "--porcelain") == ""
    assert read_answers(project)["session_style"] == "dependency"
