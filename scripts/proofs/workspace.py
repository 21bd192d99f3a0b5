"""Preparing subjects: their renders, one environment for all, a migrated database each,
and a server started on it."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import matrix
from harness import ROOT
from harness.commands import check
from harness.environ import isolated_environ
from harness.environments import create_environment
from harness.postgres import throwaway_database
from harness.render import render_variant
from harness.servers import Uvicorn, start_uvicorn

from proofs.behaviours import SETTINGS
from proofs.observe import Database, Server
from proofs.subjects import Subject

SCRIPTS = ROOT / "scripts"
REFERENCE = ROOT / "reference"


@dataclass
class Workspace:
    folder: Path
    database: str
    pg_admin: str
    renders: dict[str, Path] = field(default_factory=dict)

    @property
    def python(self) -> Path:
        return self.folder / "venv" / "bin" / "python"

    def render(self, variant: str) -> Path:
        if variant not in self.renders:
            destination = self.folder / "renders" / variant
            if not destination.exists():
                render_variant(variant, destination)
            self.renders[variant] = destination
        return self.renders[variant]

    def flavour(self, concurrency: str) -> Path:
        """A render of the chosen database in this flavour (dependencies, migrations)."""
        for name, answers in matrix.variants().items():
            if answers["database"] == self.database and answers["concurrency"] == concurrency:
                return self.render(name)
        raise LookupError(f"no {self.database} {concurrency} variant")

    def build(self, chosen: list[Subject]) -> None:
        """Render the chosen variants, and one environment with both flavours' dependencies
        (every subject of the database runs in it)."""
        for subject in chosen:
            if subject.variant is not None:
                self.render(subject.variant)
        installed = self.folder / "venv" / ".proof-matrix-installed"
        if installed.exists():
            return
        requirements = []
        for concurrency in ("sync", "async"):
            requirements += ["-r", str(self.flavour(concurrency) / "pyproject.toml")]
        create_environment(
            self.folder / "venv",
            *requirements,
            # The shim's own connection on PostgreSQL, whichever driver the app uses.
            "psycopg[binary]>=3.2",
            cwd=self.folder,
        )
        installed.touch()

    def versions(self) -> dict[str, str]:
        code = (
            "import json, platform, fastapi, sqlalchemy, starlette, uvicorn;"
            "print(json.dumps({'python': platform.python_version(),"
            " 'fastapi': fastapi.__version__, 'starlette': starlette.__version__,"
            " 'sqlalchemy': sqlalchemy.__version__, 'uvicorn': uvicorn.__version__}))"
        )
        output = check([self.python, "-c", code], cwd=self.folder, env=isolated_environ()).output
        versions: dict[str, str] = json.loads(output)
        return versions

    @contextmanager
    def database_for(self, subject: Subject) -> Iterator[str]:
        """A fresh database migrated to the template's head, for one subject."""
        if self.database == "sqlite":
            folder = self.folder / "subjects" / subject.id
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            template = self.folder / "migrated.db"
            if not template.exists():
                self.migrate(f"sqlite:///{template}")
                Database(f"sqlite:///{template}").install_commit_guard()
            shutil.copy(template, folder / "proof.db")
            yield f"sqlite:///{folder / 'proof.db'}"
            return
        with throwaway_database(self.pg_admin, subject.id, prefix="proof") as url:
            self.migrate(url)
            Database(url).install_commit_guard()
            yield url

    def migrate(self, url: str) -> None:
        check(
            [self.python, "-m", "alembic", "upgrade", "head"],
            cwd=self.flavour("sync"),
            env=isolated_environ(DATABASE_URL=url),
        )


@dataclass
class Launched:
    """A subject's server, started but perhaps not yet ready; ``stack`` ends it all."""

    server: Server
    uvicorn: Uvicorn
    stack: ExitStack

    def wait_ready(self) -> None:
        # Reference apps serve no /health; every FastAPI app serves its schema.
        self.uvicorn.wait_ready("/openapi.json")


def launch(workspace: Workspace, subject: Subject) -> Launched:
    """Start ``subject`` on a fresh database; its server may still be importing."""
    stack = ExitStack()
    try:
        url = stack.enter_context(workspace.database_for(subject))
        cwd = workspace.render(subject.variant) if subject.variant is not None else REFERENCE
        log = workspace.folder / "subjects" / f"{subject.id}.log"
        env = isolated_environ(
            DATABASE_URL=url,
            PROOF_TARGET=subject.target,
            PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(cwd)]),
            **SETTINGS,
        )
        uvicorn = start_uvicorn(
            workspace.python, "proof_shim:app", name=subject.id, cwd=cwd, env=env, log=log
        )
        # Killed outright: the database is thrown away, so a graceful shutdown buys nothing.
        stack.callback(uvicorn.stop, 0)
        server = Server(subject, uvicorn.base_url, log, Database(url))
        stack.callback(server.client.close)
    except BaseException:
        stack.close()
        raise
    return Launched(server, uvicorn, stack)
