"""The proof matrix: the contract's behaviours, run against every session pattern.

    python scripts/proof_matrix.py                      # every subject, rewrites the JSON
    python scripts/proof_matrix.py --subset ci --check  # what CI runs: compare, write nothing
    python scripts/proof_matrix.py --only ref-global_session-async --check

A *subject* is either an offered variant (rendered from this checkout, every variant of
``matrix.variants()`` on the chosen database) or a reference app from ``reference/``: a
small rebuild of a seed text's pattern the template does not offer (counter-examples).
Each subject is served by a real uvicorn on 127.0.0.1 through ``proof_shim.py``, on its
own copy of a database migrated by the template's Alembic scripts, and probed from
outside: over HTTP, with a separate database connection, and through the shim's record
of the pool at the moment each response was handed to the server. Every probe waits on
a condition with a deadline; none sleeps to let something happen.

Each cell is ``pass``, ``fail`` with the failing assertion, or ``n/a`` (the behaviour
does not apply: async-only checks on a sync subject). The result is written to
``docs/proof-matrix.json`` under the database's key; the documentation renders it.
``--check`` compares the statuses with that file instead and exits 1 on a difference.

This file is the command; the matrix's parts are in ``scripts/proofs/``: the behaviours
(``behaviours.py``), the subjects (``subjects.py``), the outside view of a running
subject (``observe.py``), the probes (``probes.py``), preparing and starting subjects
(``workspace.py``), running them (``runner.py``) and the checked-in file (``results.py``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

import matrix
from proofs.results import OUTPUT, differences, load, merge
from proofs.runner import run_matrix
from proofs.subjects import ci_subset, subjects


def _terminate(signum: int, _frame: object) -> None:
    # Turn SIGTERM into an exception, so every started server and database is cleaned up.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=matrix.choices("database"), default="sqlite")
    parser.add_argument("--subset", choices=("all", "ci"), default="all")
    parser.add_argument("--only", nargs="+", metavar="SUBJECT", help="subject ids to run")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--workdir", type=Path, help="keep renders, venv and logs here")
    parser.add_argument("--list", action="store_true", help="print the subjects and exit")
    args = parser.parse_args(argv)
    chosen = ci_subset(args.database) if args.subset == "ci" else subjects(args.database)
    if args.only:
        unknown = set(args.only) - {s.id for s in subjects(args.database)}
        if unknown:
            parser.error(f"unknown subjects: {', '.join(sorted(unknown))}")
        chosen = [s for s in subjects(args.database) if s.id in args.only]
    if args.list:
        for subject in chosen:
            print(subject.id)
        return 0
    result = run_matrix(args.database, chosen, args.workdir)
    existing = load(args.output)
    if args.check:
        found = differences(existing.get(args.database, {}), result)
        for line in found:
            print(line)
        print(
            f"{len(chosen)} subjects, {len(found)} differences from {args.output.name}",
            file=sys.stderr,
        )
        return 1 if found else 0
    args.output.write_text(json.dumps(merge(existing, result), indent=2) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
