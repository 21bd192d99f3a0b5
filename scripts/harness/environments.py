"""Virtualenvs built with uv: a rendered variant's, or a tool's own."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.commands import check
from harness.environ import isolated_environ

#: A package install (uv's cache makes every one after the first take seconds).
INSTALL_TIMEOUT = 900


def uv_binary() -> str:
    """The uv executable installed with this repository's dev extra."""
    from uv import find_uv_bin

    return str(find_uv_bin())


def create_environment(venv: Path, *install: str, cwd: Path) -> Path:
    """Create ``venv`` with this interpreter and ``uv pip install`` ``install`` into it
    (run in ``cwd``); its python.

    Python is never downloaded; packages come from uv's cache (UV_CACHE_DIR, shared by
    every environment and pytest-xdist worker) when they are there.
    """
    uv = uv_binary()
    env = isolated_environ(UV_PYTHON_DOWNLOADS="never")
    check([uv, "venv", "--quiet", "--python", sys.executable, venv], cwd=cwd, env=env)
    python = venv / "bin" / "python"
    if install:
        check(
            [uv, "pip", "install", "--quiet", "--python", python, *install],
            cwd=cwd,
            env=env,
            timeout=INSTALL_TIMEOUT,
        )
    return python


def build_environment(project: Path, extra: str = "test") -> Path:
    """``project/.venv`` holding the rendered ``project`` (editable) with its ``extra``
    (none if empty); its python."""
    requirement = f".[{extra}]" if extra else "."
    return create_environment(project / ".venv", "-e", requirement, cwd=project)
