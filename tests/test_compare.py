"""scripts/compare.py: two answer sets in, what differs between their renders out."""

from __future__ import annotations

import io
from pathlib import Path

import compare
import pytest

EXPLICIT = "sqlite-sync-explicit-fastapi"


def test_sides_take_names_or_answers_with_defaults() -> None:
    assert compare.parse_side(EXPLICIT)["session_style"] == "explicit"
    answers = compare.parse_side("session_style=dependency,commit_strategy=dependency")
    assert answers == {
        "database": "sqlite",
        "concurrency": "sync",
        "session_style": "dependency",
        "commit_strategy": "dependency",
        "background_tasks": "fastapi",
    }
    # commit_strategy is asked only with session_style=dependency.
    assert "commit_strategy" not in compare.parse_side("session_style=explicit")
    with pytest.raises(ValueError, match="not asked"):
        compare.parse_side("session_style=explicit,commit_strategy=service")
    with pytest.raises(ValueError, match="choose one of"):
        compare.parse_side("database=oracle")
    with pytest.raises(ValueError, match="unknown question"):
        compare.parse_side("colour=blue")


def test_two_patterns_show_files_code_and_proofs_that_differ() -> None:
    out = io.StringIO()
    a = compare.parse_side(EXPLICIT)
    b = compare.parse_side("session_style=dependency,commit_strategy=dependency")
    changed = compare.compare(a, b, out, width=160)
    text = out.getvalue()
    assert changed > 0
    assert "changed    example_service/services.py" in text
    assert "changed    example_service/dependencies.py" in text
    # process side by side: the explicit pattern's second session, the injected one's re-read.
    process = text.split("### process", 1)[1].split("###", 1)[0]
    pairs = [line.split(" | ", 1) for line in process.splitlines() if " | " in line]
    left, right = [pair[0] for pair in pairs], [pair[1] for pair in pairs]
    assert any("self._sessions()" in line for line in left)
    assert any("self._session," in line for line in right)
    assert "example_service/dependencies.py: get_session" in text
    assert "### the background task (identical)" in text
    # Both are offered patterns in the checked-in matrix, where both pass everything.
    assert "same status on all" in text


def test_identical_answers_differ_in_nothing() -> None:
    out = io.StringIO()
    answers = compare.parse_side(EXPLICIT)
    assert compare.compare(answers, answers, out) == 0
    assert "no differences" in out.getvalue()


def test_benchmark_rows_of_both_variants_with_their_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "results.md"
    results.write_text(
        "# Results\n\n"
        "| service | vs naive |\n|---|---|\n"
        "| postgresql-sync-explicit-fastapi | 3.1x |\n"
        "| postgresql-sync-dependency_commit-fastapi | 0.9x |\n"
        "| naive get_db | 1.0x |\n\n"
        "Machine: two cores.\n"
    )
    monkeypatch.setattr(compare, "BENCHMARK_RESULTS", results)
    rows = compare.benchmark_rows({"postgresql-sync-explicit-fastapi"})
    assert rows == [
        "| service | vs naive |",
        "|---|---|",
        "| postgresql-sync-explicit-fastapi | 3.1x |",
        "",
    ]
    assert compare.benchmark_rows({"sqlite-sync-explicit-fastapi"}) == []
