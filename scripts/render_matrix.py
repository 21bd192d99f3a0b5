"""Render every variant of the template into one folder, for reading them side by side.

    python scripts/render_matrix.py OUT_DIR [--vcs-ref HEAD]

Each variant of scripts/matrix.py lands in OUT_DIR/<its name>.
"""

import argparse
from pathlib import Path

import copier
from matrix import ROOT, variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--vcs-ref", default=None)
    args = parser.parse_args()
    for name, answers in variants().items():
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
