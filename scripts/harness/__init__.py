"""What the template's tests, its scripts and the docs hooks share, written once.

- ``harness.render``: render this checkout (or another template ref) with copier;
- ``harness.environ``: the environment a generated project runs in, cleaned of settings;
- ``harness.commands``: run a command with a timeout and read its output;
- ``harness.environments``: a virtualenv built with uv, per variant or per tool;
- ``harness.postgres``: throwaway PostgreSQL databases on the administrator's server;
- ``harness.mariadb``: the same on a MariaDB server;
- ``harness.waits``: free loopback ports and waiting on a condition with a deadline;
- ``harness.servers``: a uvicorn process serving an app, started, awaited and stopped.

Nothing here imports pytest: a test turns these errors into test failures itself
(tests/support.py). ``scripts/`` is on sys.path for the tests (pyproject.toml's
``pythonpath``), for mypy (``mypy_path``), for the scripts run as ``python scripts/x.py``
and for docs/hooks.py (which adds it), so each imports ``harness`` the same way.
"""

from pathlib import Path

#: This checkout: the template's root (copier.yml) and this repository's.
ROOT = Path(__file__).resolve().parent.parent.parent
