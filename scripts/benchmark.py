"""Compare session patterns under a slow external service, in one run.

    python scripts/benchmark.py [--requests 60] [--delay-ms 200] [--pool 5]

Renders the sync SQLite variant of each session pattern, serves each under uvicorn
with the same small pool, fires ``--requests`` concurrent ``POST /users/{id}/process``
calls (each waits ``--delay-ms`` on the simulated external service) and prints the
wall time per pattern and its ratio to the explicit pattern. Needs uv (pip install uv);
every variant gets its own virtualenv, built from uv's cache after the first.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import copier
import httpx
from matrix import variants
from uv import find_uv_bin

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = {
    answers_pattern: answers
    for name, answers in variants().items()
    if name.startswith("sqlite-sync-") and name.endswith("-fastapi")
    for answers_pattern in [name.split("-")[2]]
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepare(pattern: str, folder: Path) -> Path:
    project = folder / pattern
    copier.run_copy(str(ROOT), project, data=PATTERNS[pattern], defaults=True, quiet=True)
    uv = os.fsdecode(find_uv_bin())
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([uv, "venv", "-q", "--python", sys.executable], cwd=project, env=env, check=True)
    subprocess.run([uv, "pip", "install", "-q", "-e", "."], cwd=project, env=env, check=True)
    return project


def measure(project: Path, requests: int, delay_ms: int, pool: int) -> tuple[float, list[int]]:
    python = project / ".venv" / "bin" / "python"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{project / 'bench.db'}",
        "DB_POOL_SIZE": str(pool),
        "DB_MAX_OVERFLOW": "0",
        "DB_POOL_TIMEOUT": "30",
        "EXTERNAL_SERVICE_DELAY_MS": str(delay_ms),
    }
    subprocess.run(
        [python, "-m", "alembic", "upgrade", "head"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [
            python,
            "-m",
            "uvicorn",
            "example_service.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=project,
        env=env,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{project.name} did not start")
                time.sleep(0.05)
            ids = [
                client.post("/users", json={"email": f"u{n}@x.io", "name": "U"}).json()["id"]
                for n in range(requests)
            ]
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=requests) as pool_:
                statuses = list(
                    pool_.map(lambda i: client.post(f"/users/{i}/process").status_code, ids)
                )
            return time.perf_counter() - started, statuses
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--delay-ms", type=int, default=200)
    parser.add_argument("--pool", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        projects = {pattern: prepare(pattern, Path(tmp)) for pattern in PATTERNS}
        print(
            f"{args.requests} concurrent process requests, external service "
            f"{args.delay_ms} ms, pool {args.pool} (sync, SQLite)"
        )
        results = {}
        for pattern, project in projects.items():
            seconds, statuses = measure(project, args.requests, args.delay_ms, args.pool)
            results[pattern] = seconds
            failed = sum(status != 200 for status in statuses)
            print(
                f"  {pattern:18} {seconds:6.2f} s  "
                f"x{seconds / results['explicit']:5.2f} of explicit  non-200: {failed}"
            )


if __name__ == "__main__":
    main()
