"""This repository's own code and documents: the tests are lint- and type-clean, the
README's quick start is what CI runs, and what tests, scripts and docs hooks share is
written once, in the harness."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
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


#: The jobs the harness (scripts/harness/) does for the tests, the scripts and the docs
#: hooks, each by the call (or SQL) that does it: anywhere else it would be a second copy.
HARNESS_JOBS = {
    "copier.run_copy": "rendering (harness/render.py)",
    "socket.socket": "a free port (harness/waits.py)",
    "time.sleep": "waiting on a condition (harness/waits.py)",
    "subprocess.Popen": "starting a command or a server (harness/commands.py, servers.py)",
    "os.killpg": "ending a process group (harness/commands.py, servers.py)",
    "os.environ.items": "an environment cleaned of settings (harness/environ.py)",
    "find_uv_bin": "a virtualenv (harness/environments.py)",
    "CREATE DATABASE": "a throwaway database (harness/postgres.py)",
}
HARNESS = ROOT / "scripts" / "harness"


def dotted(node: ast.expr) -> str:
    """``a.b.c`` for an attribute chain or a name; empty for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (owner := dotted(node.value)):
        return f"{owner}.{node.attr}"
    return ""


def harness_jobs(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Where ``tree`` does a job of HARNESS_JOBS itself: (line, job)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            yield from ((node.lineno, a.name) for a in node.names if a.name in HARNESS_JOBS)
        if not isinstance(node, ast.Call):
            continue
        if dotted(node.func) in HARNESS_JOBS:
            yield node.lineno, dotted(node.func)
        # SQL: a statement passed to a call, as execute() or sql.SQL() take it.
        for argument in node.args:
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                statement = " ".join(argument.value.upper().split())
                yield from ((node.lineno, job) for job in HARNESS_JOBS if statement.startswith(job))


def test_harness_jobs_are_done_only_in_the_harness() -> None:
    own_code = [*(ROOT / "tests").glob("*.py"), *(ROOT / "scripts").rglob("*.py")]
    places = []
    for path in [*own_code, ROOT / "docs" / "hooks.py"]:
        if path.is_relative_to(HARNESS):
            continue
        for line, job in harness_jobs(ast.parse(path.read_text(), str(path))):
            places.append(f"{path.relative_to(ROOT)}:{line}: {job}: {HARNESS_JOBS[job]}")
    assert not places, "done again outside scripts/harness/:\n" + "\n".join(places)


def test_the_harness_check_finds_each_job() -> None:
    code = """
import copier, socket, subprocess, time, os
from uv import find_uv_bin
copier.run_copy(".", "x")
socket.socket()
time.sleep(1)
subprocess.Popen(["x"])
os.killpg(1, 9)
{k: v for k, v in os.environ.items()}
connection.execute("create database x")
"""
    assert {job for _, job in harness_jobs(ast.parse(code))} == set(HARNESS_JOBS)
