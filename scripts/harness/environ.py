"""The environment a generated project (its server, its tests, its tools) runs in."""

from __future__ import annotations

import os
from pathlib import Path

#: Settings a generated service or its tests read (pydantic-settings matches them
#: whatever their case). Whoever runs the tooling may have any of them set; none may
#: leak into a run, or a suite meant for SQLite talks to their PostgreSQL, or a proof
#: meant for a pool of 2 runs with theirs.
SERVICE_SETTINGS = frozenset(
    {
        "DATABASE_URL",
        "TEST_DATABASE_URL",
        "EXTERNAL_SERVICE_DELAY_MS",
        "LOG_LEVEL",
        "TEST_BROKER_URL",
    }
)
#: Families of settings: the pool's and the timeouts' (DB_POOL_SIZE, DB_CONNECT_TIMEOUT,
#: ...), the broker's and the outbox's (celery variants). A setting added to a family
#: later is dropped without a change here.
SERVICE_SETTING_PREFIXES = ("DB_", "BROKER_", "OUTBOX_")
#: What points a process at another interpreter or packages than its own virtualenv's.
INTERPRETER = frozenset({"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CONDA_PREFIX"})
#: pytest and pytest-xdist talk to their own child processes through these.
PYTEST_PREFIXES = ("PYTEST_", "PYTHONBREAKPOINT")


def leaks(key: str) -> bool:
    """Whether the variable ``key`` of this process must not reach a generated project."""
    name = key.upper()
    return (
        name in SERVICE_SETTINGS
        or name.startswith(SERVICE_SETTING_PREFIXES)
        or key in INTERPRETER
        or key.startswith(PYTEST_PREFIXES)
    )


def isolated_environ(venv: Path | None = None, /, **extra: str) -> dict[str, str]:
    """This process's environment minus what would leak into a project's run, plus
    ``extra``.

    With ``venv``, its ``bin`` comes first on PATH, as after ``. .venv/bin/activate``.
    """
    env = {key: value for key, value in os.environ.items() if not leaks(key)}
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env.update(extra)
    return env
