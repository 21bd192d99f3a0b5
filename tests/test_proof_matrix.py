"""The checked-in proof matrix (docs/proof-matrix.json) is what the patterns do.

``test_ci_subset_matches_the_checked_in_matrix`` re-runs the CI subset of subjects
(``python scripts/proof_matrix.py --subset ci --check``: each offered pattern once and
one flavour of each counter-example, seven subjects) and fails when a cell's status
differs. The full matrix is ``python scripts/proof_matrix.py``. The other tests
check the file itself: every offered pattern passes everything, every counter-example
fails something and says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from proofs.behaviours import BEHAVIOURS
from proofs.results import differences, load
from proofs.runner import run_matrix
from proofs.subjects import REFERENCES, WORKER_BACKGROUNDS, ci_subset, subjects

from tests.support import VARIANTS

DATABASE = "sqlite"


@pytest.fixture(scope="module")
def checked_in() -> dict[str, Any]:
    data = load()
    assert DATABASE in data, f"docs/proof-matrix.json has no {DATABASE} results"
    result: dict[str, Any] = data[DATABASE]
    return result


def rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in result["subjects"]}


def test_every_subject_and_behaviour_is_in_the_file(checked_in: dict[str, Any]) -> None:
    expected = {subject.id for subject in subjects(DATABASE)}
    assert set(rows(checked_in)) == expected
    behaviours = {behaviour.id for behaviour in BEHAVIOURS}
    for row in checked_in["subjects"]:
        assert set(row["cells"]) == behaviours, row["id"]


def test_every_offered_pattern_keeps_every_behaviour(checked_in: dict[str, Any]) -> None:
    offered = [row for row in checked_in["subjects"] if row["kind"] == "offered"]
    assert {row["id"] for row in offered} == {
        name
        for name, answers in VARIANTS.items()
        if answers["database"] == DATABASE and answers["background_tasks"] not in WORKER_BACKGROUNDS
    }
    for row in offered:
        failing = {b: c["detail"] for b, c in row["cells"].items() if c["status"] == "fail"}
        assert not failing, f"{row['id']} fails {failing}"
        assert row["cells"]["async"]["status"] == ("pass" if "-async-" in row["id"] else "n/a")


def test_every_counter_example_fails_something_with_a_reason(checked_in: dict[str, Any]) -> None:
    references = [row for row in checked_in["subjects"] if row["kind"] == "reference"]
    assert {row["pattern"] for row in references} == {p for p, _, _ in REFERENCES}
    for row in references:
        failing = [cell for cell in row["cells"].values() if cell["status"] == "fail"]
        assert failing, f"{row['id']} passes every behaviour"
        assert all(cell["detail"] for cell in failing), row["id"]


def test_a_changed_status_is_a_difference(checked_in: dict[str, Any]) -> None:
    assert differences(checked_in, checked_in) == []
    first = checked_in["subjects"][0]
    flipped = {
        **first,
        "cells": {**first["cells"], "commit": {"status": "fail", "detail": "late"}},
    }
    found = differences(checked_in, {"subjects": [flipped]})
    assert found == [f"{first['id']} / commit: checked in pass, now fail (late)"]


def test_ci_subset_matches_the_checked_in_matrix(
    checked_in: dict[str, Any], tmp_path: Path
) -> None:
    chosen = ci_subset(DATABASE)
    assert {s.pattern for s in chosen if s.kind == "offered"} == {
        s.pattern for s in subjects(DATABASE) if s.kind == "offered"
    }
    assert {s.pattern for s in chosen if s.kind == "reference"} == {
        pattern for pattern, _, _ in REFERENCES
    }
    result = run_matrix(DATABASE, chosen, tmp_path)
    found = differences(checked_in, result)
    assert not found, (
        "the patterns no longer do what docs/proof-matrix.json says; if that is intended, "
        "regenerate it with `python scripts/proof_matrix.py`:\n" + "\n".join(found)
    )
