"""Render every variant of the template into one folder, for reading them side by side.

    python scripts/render_matrix.py OUT_DIR [--vcs-ref HEAD]

Each variant lands in OUT_DIR/<database>-<concurrency>-<pattern>-<background>.
"""

import argparse
import itertools
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = {
    "explicit": {"session_style": "explicit"},
    "dependency_commit": {"session_style": "dependency", "commit_strategy": "dependency"},
    "service_commit": {"session_style": "dependency", "commit_strategy": "service"},
}


def variants() -> list[tuple[str, dict[str, str]]]:
    result = []
    for database, concurrency, pattern, background in itertools.product(
        ("sqlite", "postgresql"), ("sync", "async"), PATTERNS, ("fastapi", "none")
    ):
        answers = {
            "database": database,
            "concurrency": concurrency,
            "background_tasks": background,
            **PATTERNS[pattern],
        }
        result.append((f"{database}-{concurrency}-{pattern}-{background}", answers))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--vcs-ref", default=None)
    args = parser.parse_args()
    for name, answers in variants():
        copier.run_copy(
            str(ROOT),
            args.out / name,
            data=answers,
            defaults=True,
            vcs_ref=args.vcs_ref,
            quiet=True,
            overwrite=True,
        )
        print(name)


if __name__ == "__main__":
    main()
