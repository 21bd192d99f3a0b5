"""This repository's own code and documents: the tests are lint- and type-clean, and the
README's quick start is what CI runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT, check

QUICK_START_TEST_COMMAND = "python -m pytest -n 3"


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)]


def test_quick_start_generates_a_service_then_runs_these_tests() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    generate, test = commands
    assert "copier copy --defaults" in generate
    assert "--trust" not in generate
    assert "pip install -e '.[dev]'" in test
    assert test.endswith(f"&& {QUICK_START_TEST_COMMAND}")


def test_ci_runs_the_quick_start_test_command() -> None:
    script = ROOT / ".ci" / "run"
    assert script.stat().st_mode & 0o111, ".ci/run is not executable"
    lines = [line.strip() for line in script.read_text().splitlines()]
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    assert QUICK_START_TEST_COMMAND in lines
    assert "python -m pip install --quiet -e '.[dev]'" in lines
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_ci_venv_is_ignored_by_git() -> None:
    # An unignored .ci/.venv would be copied into every render of a dirty checkout.
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".ci/.venv/bin/python"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0


def test_own_code_is_lint_and_format_clean() -> None:
    check([sys.executable, "-m", "ruff", "check", "--no-cache", "tests"], cwd=ROOT)
    check([sys.executable, "-m", "ruff", "format", "--no-cache", "--check", "tests"], cwd=ROOT)


def test_own_code_type_checks(tmp_path: Path) -> None:
    check([sys.executable, "-m", "mypy", "--cache-dir", tmp_path / "mypy"], cwd=ROOT)
