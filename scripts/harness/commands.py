"""Running a command with a timeout, its output kept; errors carry what it printed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, Unpack


@dataclass(frozen=True)
class Completed:
    args: tuple[str, ...]
    cwd: Path
    returncode: int
    output: str
    seconds: float

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.args)}\n(cwd {self.cwd}, exit {self.returncode}, "
            f"{self.seconds:.1f}s)\n{self.output}"
        )


class CommandError(Exception):
    """A command that timed out or failed; the message shows the command and its output."""


class CommandTimedOut(CommandError):
    pass


class CommandFailed(CommandError):
    def __init__(self, completed: Completed, context: str = "") -> None:
        super().__init__(f"command failed{context}:\n{completed.describe()}")
        self.completed = completed


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> Completed:
    """Run a command, stdout and stderr interleaved; ``CommandTimedOut`` past ``timeout``.

    The command gets its own process group, so a timeout also ends whatever it started.
    """
    argv = tuple(os.fspath(arg) for arg in args)
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise CommandTimedOut(
            f"$ {' '.join(argv)}\n(cwd {cwd}) did not finish within {timeout:.0f}s "
            f"and was killed. Output so far:\n{output}"
        ) from None
    return Completed(argv, cwd, process.returncode, output, time.monotonic() - started)


class RunOptions(TypedDict, total=False):
    """``run``'s optional arguments, for the functions that pass them on."""

    env: Mapping[str, str] | None
    timeout: float


def check(
    args: Sequence[str | os.PathLike[str]], *, cwd: Path, **options: Unpack[RunOptions]
) -> Completed:
    """``run``, and ``CommandFailed`` with the command's output unless it exits 0."""
    result = run(args, cwd=cwd, **options)
    if result.returncode != 0:
        raise CommandFailed(result)
    return result
