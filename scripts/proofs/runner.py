"""Running subjects: each behaviour's probe against a started server, a cell per probe."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.postgres import admin_url

from proofs.behaviours import BEHAVIOURS, SETTINGS
from proofs.observe import Failure, Server, scrub
from proofs.probes import PROBES
from proofs.subjects import Subject
from proofs.workspace import Launched, Workspace, launch

#: Routes a probe needs beyond ``POST /users`` and ``GET /users/{id}``: a reference app
#: that does not serve one gets ``n/a`` for that behaviour.
ROUTES_NEEDED = {
    "rollback": ("patch", "/users/{user_id}"),
    "background": ("post", "/users/{user_id}/welcome"),
    "async": ("get", "/users/{user_id}/emails"),
    "import": ("post", "/users/import"),
}


def serves(server: Server, method: str, path: str) -> bool:
    paths = server.client.get("/openapi.json").json().get("paths", {})
    return any(
        re.sub(r":[^}]+", "", declared) == path and method in spec
        for declared, spec in paths.items()
    )


def run_subject(launched: Launched) -> dict[str, dict[str, str]]:
    """The subject's cells; what it measured on the way is in ``launched.server.measured``."""
    cells: dict[str, dict[str, str]] = {}
    timings: dict[str, float] = {}
    server, subject = launched.server, launched.server.subject
    with launched.stack:
        launched.wait_ready()
        for behaviour, probe in PROBES.items():
            if behaviour == "async" and subject.concurrency == "sync":
                cells[behaviour] = {"status": "n/a", "detail": "sync subject"}
                continue
            probe_started = time.monotonic()
            try:
                needed = ROUTES_NEEDED.get(behaviour)
                if needed and not serves(server, *needed):
                    method, path = needed
                    detail = f"this reference app serves no {method.upper()} {path}"
                    cells[behaviour] = {"status": "n/a", "detail": detail}
                    continue
                probe(server)
            except Failure as failure:
                cells[behaviour] = {"status": "fail", "detail": str(failure)}
            except Exception as error:  # a probe that breaks is a failing cell, not a crash
                cells[behaviour] = {
                    "status": "fail",
                    "detail": f"probe broke: {type(error).__name__}: {scrub(str(error))}"
                    f"{server.log_error()}",
                }
            else:
                cells[behaviour] = {"status": "pass", "detail": ""}
            timings[behaviour] = time.monotonic() - probe_started
    if os.environ.get("PROOF_MATRIX_TIMINGS"):
        print(" ".join(f"{b}:{t:.1f}s" for b, t in timings.items()), file=sys.stderr)
    return {b.id: cells[b.id] for b in BEHAVIOURS}


def run_matrix(database: str, chosen: list[Subject], workdir: Path | None = None) -> dict[str, Any]:
    """Run ``chosen`` and return the matrix (the JSON written for ``database``)."""
    with tempfile.TemporaryDirectory(prefix="proof-matrix-") as temporary:
        folder = workdir or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        workspace = Workspace(folder, database, admin_url())
        started = time.monotonic()
        workspace.build(chosen)
        rows = []
        # The next subject's server starts while this one is probed: starting is mostly
        # importing (CPU), probing mostly waiting on the slow external service.
        upcoming = launch(workspace, chosen[0]) if chosen else None
        for index, subject in enumerate(chosen):
            subject_started = time.monotonic()
            assert upcoming is not None
            current = upcoming
            try:
                following = chosen[index + 1] if index + 1 < len(chosen) else None
                upcoming = launch(workspace, following) if following else None
                cells = run_subject(current)
            except BaseException:
                current.stack.close()
                if upcoming is not None:
                    upcoming.stack.close()
                raise
            print(
                f"{subject.id:<44} "
                + " ".join(f"{b}={c['status']}" for b, c in cells.items())
                + f"  ({time.monotonic() - subject_started:.1f}s)",
                file=sys.stderr,
            )
            rows.append({**subject.describe(), "cells": cells, "measured": current.server.measured})
        return {
            "database": database,
            "settings": SETTINGS,
            "versions": workspace.versions(),
            "seconds": round(time.monotonic() - started),
            "behaviours": [b.__dict__ for b in BEHAVIOURS],
            "subjects": rows,
        }
