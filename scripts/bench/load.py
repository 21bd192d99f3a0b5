"""Loading a server with wrk, downloading its export, and every round's measurements."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from harness.commands import check

# wrk prints one JSON line when a run ends; latencies are in microseconds.
LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
LUA_REQUESTS = {
    "read": 'request = function() return wrk.format("GET", "/users/" .. '
    "math.random(1, {rows})) end",
    "list": 'request = function() return wrk.format("GET", "/users?offset=" .. '
    'math.random(0, {rows} - 50) .. "&limit=50") end',
    "create": """
counter = 0
request = function()
  counter = counter + 1
  local body = '{{"email": "bench-{nonce}-' .. counter .. '@example.com", "name": "Bench"}}'
  return wrk.format("POST", "/users", {{["Content-Type"] = "application/json"}}, body)
end""",
    "process": 'request = function() return wrk.format("POST", "/users/" .. '
    'math.random(1, {rows}) .. "/process") end',
}


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class Export:
    rows: int
    seconds: float
    rss_growth_mb: float


@dataclass
class Results:
    # Every round's measurement of a service and route.
    loads: dict[tuple[str, str], list[Load]] = field(default_factory=dict)
    exports: dict[str, Export] = field(default_factory=dict)
    # Rows per second of each POST /users/import a service answered.
    imports: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, route: str, load: Load) -> None:
        self.loads.setdefault((name, route), []).append(load)

    def median(self, name: str, route: str) -> Load | None:
        """The round with the median rate (the lower one of an even count), all its errors."""
        rounds = sorted(self.loads.get((name, route), ()), key=lambda load: load.requests_per_s)
        if not rounds:
            return None
        middle = rounds[(len(rounds) - 1) // 2]
        errors = sum(load.errors for load in rounds)
        return Load(middle.requests_per_s, middle.p50_ms, middle.p99_ms, errors)

    def rates(self, name: str, route: str) -> list[float]:
        """Every round's rate, in the order of the rounds."""
        return [load.requests_per_s for load in self.loads.get((name, route), ())]

    def errors(self, name: str) -> int:
        """A service's errors, of every route and round."""
        return sum(
            load.errors for (who, _), loads in self.loads.items() if who == name for load in loads
        )

    def spread(self, name: str, route: str) -> tuple[float, float]:
        rates = self.rates(name, route)
        return min(rates), max(rates)


def wrk(base: str, route: str, clients: int, seconds: float, rows: int, scripts: Path) -> Load:
    kind = "process" if route.startswith("process") else route
    script = scripts / f"{kind}.lua"
    # create: new emails every run. Requests still in flight when wrk stops commit after
    # forget_created_users ran, and their emails must not collide with the next run's.
    if kind == "create" or not script.exists():
        body = LUA_REQUESTS[kind].format(rows=rows, nonce=secrets.token_hex(4))
        script.write_text(body + "\n" + LUA_DONE)
    output = check(
        [
            "wrk",
            *("--threads", "1", "--connections", str(clients)),
            *("--duration", f"{max(1, round(seconds))}s", "--timeout", "30s"),
            *("--script", script, base),
        ],
        cwd=scripts,
    ).output
    # The summary is wrk's last JSON line; its errors, if any, come before it.
    last = [line for line in output.splitlines() if line.startswith("{")][-1]
    summary: dict[str, int] = json.loads(last)
    return Load(
        requests_per_s=summary["requests"] / (summary["duration_us"] / 1e6),
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        errors=summary["errors"],
    )


def memory_kb(pid: int, key: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def export(base: str, pid: int) -> Export:
    """Download the export once; its rows, seconds and the server's peak memory growth."""
    before = memory_kb(pid, "VmRSS")
    # Resets the peak (VmHWM) to the current resident size (proc(5), clear_refs).
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    lines = 0
    started = time.perf_counter()
    with urllib.request.urlopen(f"{base}/users/export", timeout=120) as response:
        for _line in response:
            lines += 1
    seconds = time.perf_counter() - started
    growth = max(0, memory_kb(pid, "VmHWM") - before) / 1024
    return Export(rows=lines - 1, seconds=seconds, rss_growth_mb=growth)


def import_rows(base: str, rows: int) -> float:
    """POST /users/import of ``rows`` new users; the rows stored per second."""
    nonce = secrets.token_hex(4)
    batch = [{"email": f"import-{nonce}-{n}@example.com", "name": "Import"} for n in range(rows)]
    request = urllib.request.Request(
        f"{base}/users/import",
        data=json.dumps(batch).encode(),
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.load(response)
    seconds = time.perf_counter() - started
    created = body["created"]
    stored = created if isinstance(created, int) else len(created)
    if stored != rows:
        raise RuntimeError(f"{base}/users/import stored {stored} of {rows} rows")
    return rows / seconds


def wrk_version() -> str:
    # `wrk --version` prints its banner and exits with status 1.
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip()
