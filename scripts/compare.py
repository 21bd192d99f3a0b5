"""Compare two sets of answers: what differs in the generated code, the proofs and the cost.

    python scripts/compare.py --a session_style=explicit \\
        --b session_style=dependency,commit_strategy=dependency
    python scripts/compare.py --a sqlite-sync-explicit-fastapi --b sqlite-async-explicit-fastapi

Each side is a variant name (``python scripts/matrix.py`` lists them) or comma-separated
``question=value`` answers; questions left out take copier.yml's defaults. Both sides are
rendered from this checkout (uncommitted changes included) and the command prints:

1. the answers that differ;
2. the files only one side has, and the files that differ (lines added and removed);
3. the key code side by side: ``process``, the session dependency, the background task;
4. the proof-matrix cells that differ (from the checked-in ``docs/proof-matrix.json``);
5. the benchmark rows of both variants, if ``docs/benchmarks/results.md`` has them.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import matrix
from harness import ROOT
from harness.render import render
from snippets import definition

PROOF_MATRIX = ROOT / "docs" / "proof-matrix.json"
BENCHMARK_RESULTS = ROOT / "docs" / "benchmarks" / "results.md"
SLUG = "example_service"

#: The code a reader compares first: (label, file, names to try in order). The first
#: name a file defines is shown, so a pattern that names its dependency differently is
#: still found.
KEY_CODE = (
    ("process", f"{SLUG}/services.py", ("UserService.process",)),
    ("the session dependency", f"{SLUG}/dependencies.py", ("get_session", "get_user_service")),
    ("how it is declared", f"{SLUG}/dependencies.py", ("SessionDep", "UserServiceDep")),
    ("the background task", f"{SLUG}/background.py", ("WelcomeMailer.send_welcome",)),
    ("the welcome operation", f"{SLUG}/services.py", ("UserService.welcome",)),
)
IGNORED = (".copier-answers.yml",)


def parse_side(text: str) -> dict[str, str]:
    """A variant name or ``question=value,...`` (defaults filled in) as full answers."""
    variants = matrix.variants()
    if text in variants:
        return dict(variants[text])
    given: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        question, separator, value = item.partition("=")
        if not separator:
            raise ValueError(f"{item!r} is neither a variant name nor question=value")
        if question not in matrix.VARIANT_QUESTIONS:
            raise ValueError(
                f"unknown question {question!r}; the code-changing questions are "
                + ", ".join(matrix.VARIANT_QUESTIONS)
            )
        if value not in matrix.choices(question):
            raise ValueError(f"{question}={value!r}: choose one of {matrix.choices(question)}")
        given[question] = value
    answers: dict[str, str] = {}
    for question in matrix.VARIANT_QUESTIONS:
        if not matrix.asked(question, answers):
            if question in given:
                raise ValueError(f"{question} is not asked with these answers")
            continue
        answers[question] = given.get(question, str(matrix.questions()[question]["default"]))
    name = matrix.name_of(answers)
    if name not in variants:
        raise ValueError(f"{name} is not offered by the template")
    return answers


def files(root: Path) -> dict[str, str]:
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and relative not in IGNORED and not relative.startswith(".git/"):
            found[relative] = path.read_text(encoding="utf-8", errors="replace")
    return found


def key_code(tree: dict[str, str], path: str, names: tuple[str, ...]) -> tuple[str, str] | None:
    source = tree.get(path)
    if source is None:
        return None
    for name in names:
        code = definition(source, name)
        if code is not None:
            return name, code
    return None


def side_by_side(left: str, right: str, width: int) -> Iterator[str]:
    column = (width - 3) // 2

    def cut(line: str) -> str:
        return line if len(line) <= column else line[: column - 1] + "…"

    pairs = itertools.zip_longest(left.splitlines(), right.splitlines(), fillvalue="")
    for a, b in pairs:
        marker = "|" if a != b else " "
        yield f"{cut(a):<{column}} {marker} {cut(b)}"


def heading(out: TextIO, text: str) -> None:
    print(f"\n## {text}\n", file=out)


def proof_rows(answers: dict[str, str]) -> dict[str, dict[str, str]] | None:
    if not PROOF_MATRIX.exists():
        return None
    data = json.loads(PROOF_MATRIX.read_text(encoding="utf-8"))
    name = matrix.name_of(answers)
    for row in data.get(answers["database"], {}).get("subjects", []):
        if row["id"] == name:
            cells: dict[str, dict[str, str]] = row["cells"]
            return cells
    return None


def benchmark_rows(names: set[str]) -> list[str]:
    """The header and the rows whose first cell is one of ``names``, of each results table.

    scripts/benchmark.py names each service by its variant name in the first column.
    """
    if not BENCHMARK_RESULTS.exists():
        return []
    tables: list[list[str]] = []
    previous_was_row = False
    for line in BENCHMARK_RESULTS.read_text(encoding="utf-8").splitlines():
        is_row = line.lstrip().startswith("|")
        if is_row and not previous_was_row:
            tables.append([])
        if is_row:
            tables[-1].append(line)
        previous_was_row = is_row
    shown: list[str] = []
    for table in tables:
        header, rows = table[:2], table[2:]
        matching = [row for row in rows if row.strip().strip("|").split("|")[0].strip() in names]
        if matching:
            shown += [*header, *matching, ""]
    return shown


def compare(a: dict[str, str], b: dict[str, str], out: TextIO, width: int = 160) -> int:
    """Print what differs between the variants of ``a`` and ``b``; the number of file changes."""
    name_a, name_b = matrix.name_of(a), matrix.name_of(b)
    print(f"# A: {name_a}\n# B: {name_b}", file=out)
    heading(out, "Answers")
    for question in matrix.VARIANT_QUESTIONS:
        left, right = a.get(question, "(not asked)"), b.get(question, "(not asked)")
        marker = "≠" if left != right else "="
        print(f"{question:<18} {left:<14} {marker} {right}", file=out)
    folder = Path(tempfile.mkdtemp(prefix="compare-"))
    try:
        tree_a = files(render(a, folder / "a"))
        tree_b = files(render(b, folder / "b")) if a != b else tree_a
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    heading(out, "Files")
    only_a = sorted(set(tree_a) - set(tree_b))
    only_b = sorted(set(tree_b) - set(tree_a))
    changed = sorted(p for p in set(tree_a) & set(tree_b) if tree_a[p] != tree_b[p])
    for path in only_a:
        print(f"only in A  {path}", file=out)
    for path in only_b:
        print(f"only in B  {path}", file=out)
    for path in changed:
        diff = list(difflib.unified_diff(tree_a[path].splitlines(), tree_b[path].splitlines()))
        added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
        print(f"changed    {path}  (+{added} -{removed})", file=out)
    if not (only_a or only_b or changed):
        print("no differences: both answers render the same files", file=out)

    heading(out, "Key code (A | B)")
    for label, path, names in KEY_CODE:
        code_a, code_b = key_code(tree_a, path, names), key_code(tree_b, path, names)
        if code_a is None and code_b is None:
            continue
        left_name = f"{path}: {code_a[0]}" if code_a else f"{path}: (none)"
        right_name = f"{path}: {code_b[0]}" if code_b else f"{path}: (none)"
        same = code_a is not None and code_b is not None and code_a[1] == code_b[1]
        print(f"### {label}{' (identical)' if same else ''}", file=out)
        if same:
            continue
        for line in side_by_side(left_name, right_name, width):
            print(line, file=out)
        print("-" * width, file=out)
        body_a, body_b = (code_a[1] if code_a else ""), (code_b[1] if code_b else "")
        for line in side_by_side(body_a, body_b, width):
            print(line, file=out)
        print(file=out)

    heading(out, "Proof matrix")
    rows_a, rows_b = proof_rows(a), proof_rows(b)
    if rows_a is None or rows_b is None:
        missing = [n for n, r in ((name_a, rows_a), (name_b, rows_b)) if r is None]
        print(
            f"not in docs/proof-matrix.json: {', '.join(missing)} "
            "(python scripts/proof_matrix.py --database ... adds them)",
            file=out,
        )
    else:
        differing = [b_id for b_id in rows_a if rows_a[b_id]["status"] != rows_b[b_id]["status"]]
        if not differing:
            print(f"same status on all {len(rows_a)} behaviours", file=out)
        for behaviour in differing:
            print(
                f"{behaviour}: A {rows_a[behaviour]['status']}, B {rows_b[behaviour]['status']}",
                file=out,
            )
            for side, cells in (("A", rows_a), ("B", rows_b)):
                if cells[behaviour]["detail"]:
                    print(f"    {side}: {cells[behaviour]['detail']}", file=out)

    heading(out, "Benchmark")
    rows = benchmark_rows({name_a, name_b})
    if rows:
        print("\n".join(rows).strip(), file=out)
    elif BENCHMARK_RESULTS.exists():
        print(
            f"docs/benchmarks/results.md has no row for {name_a} or {name_b}"
            " (python scripts/benchmark.py --variants NAME adds them)",
            file=out,
        )
    else:
        print(
            "no benchmark results: docs/benchmarks/results.md is absent"
            " (scripts/benchmark.py writes it)",
            file=out,
        )
    return len(only_a) + len(only_b) + len(changed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--a", required=True, help="variant name or question=value,...")
    parser.add_argument("--b", required=True, help="variant name or question=value,...")
    parser.add_argument("--width", type=int, default=shutil.get_terminal_size((160, 40)).columns)
    args = parser.parse_args(argv)
    try:
        a, b = parse_side(args.a), parse_side(args.b)
    except ValueError as error:
        parser.error(str(error))
    compare(a, b, sys.stdout, max(args.width, 80))
    return 0


if __name__ == "__main__":
    sys.exit(main())
