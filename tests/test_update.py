"""`copier update` on a generated service: answers are kept, changing one answer gives
exactly what a fresh render with that answer gives, and an update with nothing new is
a no-op."""

from __future__ import annotations

from pathlib import Path

from tests.support import (
    git,
    read_answers,
    render,
    snapshot_of_this_checkout,
    tree,
    update_project,
    without_git,
)


def test_update_changes_exactly_what_the_answer_changes(tmp_path: Path) -> None:
    template = snapshot_of_this_checkout(tmp_path / "template")
    project = render({"project_name": "Billing API"}, tmp_path / "billing", template=template)
    assert (project / "billing_api" / "background.py").is_file()
    git(project, "init", "--quiet")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "generated")

    update_project(project, {"background_tasks": "none", "concurrency": "async"})

    answers = read_answers(project)
    assert answers["background_tasks"] == "none"
    assert answers["concurrency"] == "async"
    assert answers["project_name"] == "Billing API"
    assert answers["project_slug"] == "billing_api"
    fresh = render(
        {"project_name": "Billing API", "background_tasks": "none", "concurrency": "async"},
        tmp_path / "fresh",
        template=template,
    )
    updated, expected = without_git(tree(project)), tree(fresh)
    assert sorted(updated) == sorted(expected)
    different = [path for path in expected if updated[path] != expected[path]]
    assert not different, f"the update differs from a fresh render in: {different}"
    assert not (project / "billing_api" / "background.py").exists()


def test_update_without_changes_is_a_no_op(tmp_path: Path) -> None:
    template = snapshot_of_this_checkout(tmp_path / "template")
    project = render({"session_style": "dependency"}, tmp_path / "service", template=template)
    git(project, "init", "--quiet")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "generated")

    update_project(project)

    assert git(project, "status", "--porcelain") == ""
    assert read_answers(project)["session_style"] == "dependency"
