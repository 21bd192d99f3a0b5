"""A uvicorn process serving an app on the loopback address: started, awaited, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from harness.waits import LOOPBACK, free_port, wait_until

START_TIMEOUT = 60.0


@dataclass
class Uvicorn:
    """A started uvicorn process; ``log`` has its output when one was given."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path | None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log is not None else ""

    def answers(self, path: str) -> bool:
        """Whether ``GET path`` answers 200; ``RuntimeError`` if the process has exited."""
        if self.process.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.process.returncode} at startup:\n{self.output()}"
            )
        try:
            with urllib.request.urlopen(f"{self.base_url}{path}", timeout=5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError):
            return False

    def wait_ready(self, path: str, timeout: float = START_TIMEOUT) -> None:
        """Wait until ``GET path`` answers 200 (the app has started)."""
        try:
            wait_until(lambda: self.answers(path), timeout, f"{self.name} to answer GET {path}")
        except TimeoutError as error:
            raise RuntimeError(f"{error}:\n{self.output()}") from None

    def stop(self, grace: float) -> None:
        """SIGTERM, up to ``grace`` seconds for a graceful shutdown, then SIGKILL; the whole
        process group either way (``grace=0``: killed outright)."""
        if self.process.poll() is None and grace > 0:
            self.process.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def start_uvicorn(
    python: Path,
    app: str,
    *,
    name: str,
    cwd: Path,
    env: Mapping[str, str],
    log: Path | None = None,
    options: Sequence[str] = (),
) -> Uvicorn:
    """Start ``python -m uvicorn app`` on a free loopback port, in its own process group;
    it may still be importing when this returns (``wait_ready``).

    Its output goes to ``log``, or to this process's own output without one.
    """
    port = free_port()
    command = [
        os.fspath(python),
        "-m",
        "uvicorn",
        app,
        *("--host", LOOPBACK, "--port", str(port), "--log-level", "warning"),
        *options,
    ]
    if log is None:
        process = subprocess.Popen(
            command, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, start_new_session=True
        )
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    return Uvicorn(name, process, port, log)


@contextmanager
def serving(
    python: Path,
    app: str,
    *,
    name: str,
    cwd: Path,
    env: Mapping[str, str],
    ready_path: str,
    grace: float,
    log: Path | None = None,
    options: Sequence[str] = (),
) -> Iterator[Uvicorn]:
    """``start_uvicorn``, wait until ``ready_path`` answers, and stop it (``grace``) after."""
    server = start_uvicorn(python, app, name=name, cwd=cwd, env=env, log=log, options=options)
    try:
        server.wait_ready(ready_path)
        yield server
    finally:
        server.stop(grace)
