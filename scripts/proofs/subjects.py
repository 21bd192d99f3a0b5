"""The proof matrix's subjects: the offered variants and the reference apps beside them."""

from __future__ import annotations

from dataclasses import dataclass

import matrix
from harness import ROOT


@dataclass(frozen=True)
class Subject:
    id: str
    label: str
    kind: str  # "offered" or "reference"
    pattern: str
    concurrency: str
    background: str
    source: str
    target: str
    variant: str | None = None

    def describe(self) -> dict[str, str]:
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "pattern": self.pattern,
            "concurrency": self.concurrency,
            "background": self.background,
            "source": self.source,
        }


#: The seed texts' patterns the template does not offer: (pattern, label, module per flavour).
REFERENCES = (
    ("naive_get_db", "naive get_db", {"sync": "naive_get_db", "async": "naive_get_db_async"}),
    (
        "get_db_with_commit",
        "get_db_with_commit, default scope",
        {"sync": "get_db_with_commit", "async": "get_db_with_commit_async"},
    ),
    (
        "request_state_middleware",
        "request.state.db middleware",
        {"sync": "request_state_middleware", "async": "request_state_middleware_async"},
    ),
    (
        "global_session",
        "module-global session",
        {"sync": "global_session", "async": "global_session_async"},
    ),
)

#: What CI runs (tests/test_proof_matrix.py), seven subjects to stay within about two
#: minutes: each session pattern once (the first in its sync flavour, the others async,
#: the background strategies alternating; see ci_subset) and one flavour of each
#: reference pattern, alternating sync and async.
CI_REFERENCES = (
    "ref-naive_get_db-async",
    "ref-get_db_with_commit-sync",
    "ref-request_state_middleware-sync",
    "ref-global_session-async",
)


def pattern_source(pattern: str) -> str:
    """Where the template keeps a session pattern's code (the layout may move)."""
    for folder in (f"units/session/{pattern}/", f"variants/session/{pattern}/"):
        if (ROOT / folder).is_dir():
            return folder
    return "copier.yml"


#: Background strategies whose work runs in a separate worker process. The matrix starts
#: one server per subject and no worker, so it leaves these variants to their own suites,
#: which run real workers on a real broker (tests/test_celery*.py in each render).
WORKER_BACKGROUNDS = {"celery"}


def subjects(database: str) -> list[Subject]:
    """Every subject on ``database``: the offered variants, then the reference apps."""
    result = []
    for name, answers in matrix.variants().items():
        if answers["database"] != database or answers["background_tasks"] in WORKER_BACKGROUNDS:
            continue
        pattern = matrix.computed("session_pattern", answers)
        result.append(
            Subject(
                id=name,
                label=f"{pattern} ({answers['concurrency']}, {answers['background_tasks']})",
                kind="offered",
                pattern=pattern,
                concurrency=answers["concurrency"],
                background=answers["background_tasks"],
                source=pattern_source(pattern),
                target="example_service.main:app",
                variant=name,
            )
        )
    for pattern, label, modules in REFERENCES:
        for concurrency, module in modules.items():
            result.append(
                Subject(
                    id=f"ref-{pattern}-{concurrency}",
                    label=f"{label} ({concurrency})",
                    kind="reference",
                    pattern=pattern,
                    concurrency=concurrency,
                    background="fastapi" if module != "naive_get_db" else "none",
                    source=f"reference/{module}.py",
                    target=f"{module}:app",
                )
            )
    return result


def ci_subset(database: str) -> list[Subject]:
    """Each session pattern once and each reference pattern once (see CI_REFERENCES).

    On SQLite: explicit sync with FastAPI background tasks (the default variant),
    service_commit async without, dependency_commit async with.
    """
    everything = subjects(database)
    patterns = list(dict.fromkeys(s.pattern for s in everything if s.kind == "offered"))
    backgrounds = [
        value for value in matrix.choices("background_tasks") if value not in WORKER_BACKGROUNDS
    ]
    wanted = {
        (pattern, "sync" if index == 0 else "async", backgrounds[index % len(backgrounds)])
        for index, pattern in enumerate(patterns)
    }
    return [
        subject
        for subject in everything
        if (
            (subject.pattern, subject.concurrency, subject.background) in wanted
            and subject.kind == "offered"
        )
        or subject.id in CI_REFERENCES
    ]
