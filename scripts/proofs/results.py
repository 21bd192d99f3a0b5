"""The checked-in matrix, docs/proof-matrix.json: read it, compare with it, merge into it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness import ROOT

from proofs.subjects import subjects

OUTPUT = ROOT / "docs" / "proof-matrix.json"


def load(path: Path = OUTPUT) -> dict[str, Any]:
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Cells whose status differs between two matrices of one database (actual's subjects)."""
    known = {row["id"]: row for row in expected.get("subjects", [])}
    found = []
    for row in actual["subjects"]:
        old = known.get(row["id"])
        if old is None:
            found.append(f"{row['id']}: not in the checked-in matrix")
            continue
        for behaviour, cell in row["cells"].items():
            before = old["cells"].get(behaviour, {}).get("status")
            if before != cell["status"]:
                found.append(
                    f"{row['id']} / {behaviour}: checked in {before}, now {cell['status']}"
                    + (f" ({cell['detail']})" if cell["detail"] else "")
                )
    return found


def merge(existing: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """``existing`` with ``result``'s rows replacing (or joining) those of its database."""
    merged = dict(existing)
    database = result["database"]
    rows = {row["id"]: row for row in existing.get(database, {}).get("subjects", [])}
    rows.update({row["id"]: row for row in result["subjects"]})
    order = [subject.id for subject in subjects(database)]
    merged[database] = {
        **result,
        "subjects": sorted(
            rows.values(),
            key=lambda row: order.index(row["id"]) if row["id"] in order else len(order),
        ),
    }
    return merged
