"""Render every variant of the template into one folder, for reading them side by side.

    python scripts/render_matrix.py OUT_DIR [--vcs-ref HEAD]

Each variant of scripts/matrix.py lands in OUT_DIR/<its name>. Without ``--vcs-ref``
the newest release tag is rendered; ``--vcs-ref HEAD`` renders this checkout,
uncommitted changes included.
"""

import argparse
from pathlib import Path

from harness.render import render
from matrix import variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--vcs-ref", default=None)
    args = parser.parse_args()
    for name, answers in variants().items():
        render(answers, args.out / name, vcs_ref=args.vcs_ref, overwrite=True)
        print(name)


if __name__ == "__main__":
    main()
