"""The services the benchmark measures: rendered variants, and reference apps beside them.

A reference app is a module of ``reference/`` served the same way as a variant; adding
one is a line in ``REFERENCE_APPS`` (and its imports in ``REFERENCE_REQUIREMENTS`` if it
needs more).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness import ROOT
from harness.commands import check
from harness.environ import isolated_environ
from harness.environments import build_environment, create_environment
from harness.render import render_variant
from matrix import computed, variants

from bench.routes import (
    BARE_ROUTES,
    MAX_OVERFLOW,
    POOL_SIZE,
    ROUTES,
    SLOW_EXTERNAL_MS,
    SYNC_THREADS,
)

REFERENCE = ROOT / "reference"
SLUG = "example_service"
# What the reference apps import; the same releases the variants resolve to.
REFERENCE_REQUIREMENTS = (
    "fastapi",
    "sqlalchemy[asyncio]",
    "psycopg[binary]",
    "asyncpg",
    "uvicorn[standard]",
)
NAIVE, RAW, DOCS_APP = "naive get_db", "raw asyncpg", "docs app async"
BARE_ASYNC, BARE_SYNC = "bare ORM async", "bare ORM sync"


@dataclass(frozen=True)
class ReferenceApp:
    """A baseline served beside the variants: ``app`` is ``module:attribute`` in reference/."""

    name: str
    app: str
    concurrency: str
    routes: tuple[str, ...]
    #: Its session keeps a pool connection while the external service runs.
    holds_a_connection: bool = False


REFERENCE_APPS = (
    # The tutorial get_db pattern: the sync variants' yardstick.
    ReferenceApp(NAIVE, "naive_get_db:app", "sync", (*ROUTES, "export"), holds_a_connection=True),
    # Starlette and asyncpg: the bound.
    ReferenceApp(RAW, "raw_asyncpg:app", "async", ROUTES),
    # The async read of the FastAPI and SQLAlchemy docs: the async variants' yardstick.
    # It serves GET /users/{id} and /health only.
    ReferenceApp(DOCS_APP, "docs_app:app", "async", ("read",)),
    # The cheapest ORM read and process, and a plain batch insert for the import.
    ReferenceApp(BARE_ASYNC, "bare_orm:async_app", "async", BARE_ROUTES),
    ReferenceApp(BARE_SYNC, "bare_orm:sync_app", "sync", BARE_ROUTES),
)


@dataclass
class Service:
    """One server to measure: a rendered variant or a reference app."""

    name: str
    cwd: Path
    python: Path
    app: str
    app_dir: Path | None = None
    answers: dict[str, str] = field(default_factory=dict)
    routes: tuple[str, ...] = (*ROUTES, "export", "import")
    # A reference app's; a variant's comes from its answers.
    reference: ReferenceApp | None = None
    # The benchmark database it is served against, set once the databases are ready.
    database_url: str = ""

    @property
    def is_variant(self) -> bool:
        return bool(self.answers)

    @property
    def migrations(self) -> tuple[str, ...]:
        """Its Alembic revisions, none for a reference app: variants with Celery add the
        outbox table, and a service refuses a database whose schema is not at its head."""
        versions = self.cwd / "migrations" / "versions"
        return tuple(sorted(path.name for path in versions.glob("*.py")))

    @property
    def concurrency(self) -> str:
        if self.answers:
            return self.answers["concurrency"]
        return self.reference.concurrency if self.reference else "async"

    @property
    def pattern(self) -> str:
        return computed("session_pattern", self.answers) if self.answers else self.name

    def process_slots(self, clients: int) -> int:
        """How many ``process`` calls can wait on the external service at once."""
        slots = clients
        if self.concurrency == "sync":
            slots = min(slots, SYNC_THREADS)
        if self.pattern == "dependency_commit":
            # Its request sessions are limited to the pool's capacity less one.
            slots = min(slots, POOL_SIZE + MAX_OVERFLOW - 1)
        if self.reference is not None and self.reference.holds_a_connection:
            slots = min(slots, POOL_SIZE + MAX_OVERFLOW)
        return slots

    def process_limit(self, clients: int) -> float:
        """The requests/s those slots allow with the slow external service."""
        return self.process_slots(clients) * 1000 / SLOW_EXTERNAL_MS


def build_variant(name: str, folder: Path) -> Service:
    """Render the variant into ``folder/name`` and install it (without its test extra)."""
    project = render_variant(name, folder / name)
    python = build_environment(project, extra="")
    return Service(name, project, python, f"{SLUG}.main:app", answers=dict(variants()[name]))


def build_references(folder: Path) -> list[Service]:
    """One environment for every reference app, served from ``reference/``."""
    folder.mkdir()
    python = create_environment(folder / ".venv", *REFERENCE_REQUIREMENTS, cwd=folder)
    return [
        Service(ref.name, folder, python, ref.app, REFERENCE, routes=ref.routes, reference=ref)
        for ref in REFERENCE_APPS
    ]


def select_variants(patterns: Sequence[str]) -> list[str]:
    names = [
        name
        for name in variants()
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
    ]
    if not names:
        raise SystemExit(f"no variant matches {' '.join(patterns)}; see scripts/matrix.py")
    if unsupported := [name for name in names if not name.startswith("postgresql-")]:
        raise SystemExit(f"the benchmark runs on PostgreSQL only, not {', '.join(unsupported)}")
    return names


def versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "names = ('fastapi', 'starlette', 'sqlalchemy', 'pydantic', 'uvicorn', 'psycopg',"
        " 'asyncpg', 'uvloop', 'httptools')\n"
        "installed = {d.metadata['Name'].lower(): d.version for d in m.distributions()}\n"
        "print(json.dumps({n: installed[n] for n in names if n in installed}))"
    )
    output = check([python, "-c", code], cwd=python.parent, env=isolated_environ()).output
    result: dict[str, str] = json.loads(output)
    return result
