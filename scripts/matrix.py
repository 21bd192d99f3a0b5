"""The variant matrix: every combination of answers the template offers, read from copier.yml.

    python scripts/matrix.py            # one variant name per line
    python scripts/matrix.py --answers  # name, then the answers as JSON

A variant is one choice for each question that changes the generated code
(``VARIANT_QUESTIONS``). The values come from each question's ``choices`` in copier.yml,
a question is skipped where its ``when`` is false for the answers before it, and the
combinations in ``NOT_OFFERED`` are left out. Scripts and tests import this module rather
than listing answers themselves, so a value added to copier.yml reaches all of them.

A variant's name is ``<database>-<concurrency>-<session_pattern>-<background_tasks>``,
with ``session_pattern`` computed by copier.yml from the two session questions.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = ROOT / "copier.yml"

#: Questions whose answers select code, in copier.yml's order. The others (names,
#: python_version) change text only and keep their defaults in the matrix.
VARIANT_QUESTIONS = (
    "database",
    "concurrency",
    "session_style",
    "commit_strategy",
    "background_tasks",
)
#: The values that name a variant; session_pattern is computed from the session questions.
NAME_PARTS = ("database", "concurrency", "session_pattern", "background_tasks")
#: Combinations copier.yml lets through but the template does not offer: each entry is a
#: partial set of answers and a reason. Add one here, with its validator in copier.yml.
NOT_OFFERED: tuple[tuple[Mapping[str, str], str], ...] = ()

_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined)


@cache
def questions() -> dict[str, dict[str, Any]]:
    """copier.yml's questions (settings starting with ``_`` left out)."""
    data: dict[str, Any] = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    return {key: value for key, value in data.items() if not key.startswith("_")}


def choices(question: str) -> list[str]:
    """The values of one question, in copier.yml's order."""
    spec = questions()[question]["choices"]
    return list(spec.values() if isinstance(spec, dict) else spec)


def _render(expression: str, answers: Mapping[str, str]) -> str:
    return _JINJA.from_string(expression).render(**answers).strip()


def asked(question: str, answers: Mapping[str, str]) -> bool:
    """Whether copier asks ``question`` given the answers before it (its ``when``)."""
    when = questions()[question].get("when", True)
    if isinstance(when, bool):
        return when
    return _render(str(when), answers).lower() not in ("", "false", "0", "no", "none")


def computed(name: str, answers: Mapping[str, str]) -> str:
    """A computed value (``when: false``) of copier.yml for these answers."""
    return _render(str(questions()[name]["default"]), answers)


def offered(answers: Mapping[str, str]) -> bool:
    return not any(
        all(answers.get(key) == value for key, value in excluded.items())
        for excluded, _reason in NOT_OFFERED
    )


def name_of(answers: Mapping[str, str]) -> str:
    values = {**answers, "session_pattern": computed("session_pattern", answers)}
    return "-".join(values[part] for part in NAME_PARTS)


def _combinations(remaining: tuple[str, ...], answers: dict[str, str]) -> Iterator[dict[str, str]]:
    if not remaining:
        yield answers
        return
    question, rest = remaining[0], remaining[1:]
    if not asked(question, answers):
        yield from _combinations(rest, answers)
        return
    for value in choices(question):
        yield from _combinations(rest, {**answers, question: value})


@cache
def variants() -> dict[str, dict[str, str]]:
    """Every offered variant: its name and the answers that render it."""
    result: dict[str, dict[str, str]] = {}
    for answers in _combinations(VARIANT_QUESTIONS, {}):
        if offered(answers):
            result[name_of(answers)] = answers
    return result


def pairwise(names: list[str]) -> list[str]:
    """A few variants that together show every pair of answers side by side.

    Greedy: take the variant that covers most pairs of name parts not yet covered,
    until none is left.
    """

    def pairs(name: str) -> set[tuple[tuple[int, str], tuple[int, str]]]:
        parts = list(enumerate(name.split("-")))
        return set(itertools.combinations(parts, 2))

    uncovered = set().union(*(pairs(name) for name in names))
    chosen: list[str] = []
    while uncovered:
        best = max(names, key=lambda name: len(pairs(name) & uncovered))
        chosen.append(best)
        uncovered -= pairs(best)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", action="store_true", help="print each variant's answers")
    args = parser.parse_args()
    for name, answers in variants().items():
        print(f"{name} {json.dumps(answers)}" if args.answers else name)


if __name__ == "__main__":
    main()
