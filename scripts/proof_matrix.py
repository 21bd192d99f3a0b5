"""The proof matrix: the contract's behaviours, run against every session pattern.

    python scripts/proof_matrix.py                      # every subject, rewrites the JSON
    python scripts/proof_matrix.py --subset ci --check  # what CI runs: compare, write nothing
    python scripts/proof_matrix.py --only ref-global_session-async --check

A *subject* is either an offered variant (rendered from this checkout, every variant of
``matrix.variants()`` on the chosen database) or a reference app from ``reference/``: a
small rebuild of a seed text's pattern the template does not offer (counter-examples).
Each subject is served by a real uvicorn on 127.0.0.1 through ``proof_shim.py``, on its
own copy of a database migrated by the template's Alembic scripts, and probed from
outside: over HTTP, with a separate database connection, and through the shim's record
of the pool at the moment each response was handed to the server. Every probe waits on
a condition with a deadline; none sleeps to let something happen.

Each cell is ``pass``, ``fail`` with the failing assertion, or ``n/a`` (the behaviour
does not apply: async-only checks on a sync subject). The result is written to
``docs/proof-matrix.json`` under the database's key; the documentation renders it.
``--check`` compares the statuses with that file instead and exits 1 on a difference.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copier
import httpx
import matrix
from uv import find_uv_bin

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
REFERENCE = ROOT / "reference"
OUTPUT = ROOT / "docs" / "proof-matrix.json"
PG_ADMIN_ENV = "TEMPLATE_TEST_PG_URL"
PG_ADMIN_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"

#: The settings every subject runs with: a small pool that times out quickly and a slow
#: external service, so a connection held across the slow call shows within seconds.
SETTINGS = {
    "DB_POOL_SIZE": "2",
    "DB_MAX_OVERFLOW": "1",
    "DB_POOL_TIMEOUT": "1",
    "EXTERNAL_SERVICE_DELAY_MS": "500",
}
#: Concurrent slow ``process`` calls of behaviour 6: six times the pool's capacity.
CONCURRENT_CALLS = 18
DEADLINE = 5.0
REJECTED = "@rejected-at-commit.test"


@dataclass(frozen=True)
class Behaviour:
    id: str
    contract: str
    title: str
    probe: str


BEHAVIOURS = (
    Behaviour(
        "commit",
        "1",
        "Commit before response",
        "A 201 is sent only once its row is visible to another connection; a write whose "
        "COMMIT fails (a deferred constraint) gets an error status and stores nothing.",
    ),
    Behaviour(
        "rollback",
        "2",
        "Rollback",
        "A PATCH that changes a name and fails on a duplicate email after its flush "
        "answers 409 and changes nothing; a 404 stays a 404; the next request works.",
    ),
    Behaviour(
        "connections",
        "3",
        "No connection left",
        "For 2xx and 4xx responses, the pool has no connection checked out when the "
        "response is sent, and none stays checked out afterwards.",
    ),
    Behaviour(
        "fresh",
        "4",
        "Fresh `process`",
        "`process` returns the credit the external service added through its own "
        "connection while the request was waiting.",
    ),
    Behaviour(
        "background",
        "5",
        "Background after commit, own session",
        "`welcome` answers 202 holding no connection, and exactly one email row with the "
        "right subject and address appears, written by the task.",
    ),
    Behaviour(
        "pool",
        "6",
        "Pool under slow calls",
        f"{CONCURRENT_CALLS} concurrent `process` calls, a pool of 2 + 1 with a 1 s timeout "
        "and a 500 ms external service: every call answers 200.",
    ),
    Behaviour(
        "async",
        "7",
        "Async: no lazy loads, a session per task",
        "Async subjects only: `GET /users/{id}/emails` answers 200, concurrent reads of "
        "rows the app has not loaded all answer 200, and the server log has no implicit "
        "I/O or concurrent-session error.",
    ),
    Behaviour(
        "api",
        "10",
        "API truth",
        "A duplicate email differing only in case is a 409 that stores nothing; bad input "
        "is a 422; a missing user is a 404; every status seen is declared in "
        "`/openapi.json` for its route.",
    ),
)


@dataclass(frozen=True)
class Subject:
    id: str
    label: str
    kind: str  # "offered" or "reference"
    pattern: str
    concurrency: str
    background: str
    source: str
    target: str
    variant: str | None = None

    def describe(self) -> dict[str, str]:
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "pattern": self.pattern,
            "concurrency": self.concurrency,
            "background": self.background,
            "source": self.source,
        }


#: The seed texts' patterns the template does not offer: (pattern, label, module per flavour).
REFERENCES = (
    ("naive_get_db", "naive get_db", {"sync": "naive_get_db", "async": "naive_get_db_async"}),
    (
        "get_db_with_commit",
        "get_db_with_commit, default scope",
        {"sync": "get_db_with_commit", "async": "get_db_with_commit_async"},
    ),
    (
        "request_state_middleware",
        "request.state.db middleware",
        {"sync": "request_state_middleware", "async": "request_state_middleware_async"},
    ),
    (
        "global_session",
        "module-global session",
        {"sync": "global_session", "async": "global_session_async"},
    ),
)

#: What CI runs (tests/test_proof_matrix.py), seven subjects to stay within about two
#: minutes: each session pattern once (the first in its sync flavour, the others async,
#: the background strategies alternating; see ci_subset) and one flavour of each
#: reference pattern, alternating sync and async.
CI_REFERENCES = (
    "ref-naive_get_db-async",
    "ref-get_db_with_commit-sync",
    "ref-request_state_middleware-sync",
    "ref-global_session-async",
)


def pattern_source(pattern: str) -> str:
    """Where the template keeps a session pattern's code (the layout may move)."""
    for folder in (f"units/session/{pattern}/", f"variants/session/{pattern}/"):
        if (ROOT / folder).is_dir():
            return folder
    return "copier.yml"


#: Background strategies whose work runs in a separate worker process. The matrix starts
#: one server per subject and no worker, so it leaves these variants to their own suites,
#: which run a real worker on a real broker (tests/test_celery.py in each render).
WORKER_BACKGROUNDS = {"celery"}


def subjects(database: str) -> list[Subject]:
    """Every subject on ``database``: the offered variants, then the reference apps."""
    result = []
    for name, answers in matrix.variants().items():
        if answers["database"] != database or answers["background_tasks"] in WORKER_BACKGROUNDS:
            continue
        pattern = matrix.computed("session_pattern", answers)
        result.append(
            Subject(
                id=name,
                label=f"{pattern} ({answers['concurrency']}, {answers['background_tasks']})",
                kind="offered",
                pattern=pattern,
                concurrency=answers["concurrency"],
                background=answers["background_tasks"],
                source=pattern_source(pattern),
                target="example_service.main:app",
                variant=name,
            )
        )
    for pattern, label, modules in REFERENCES:
        for concurrency, module in modules.items():
            result.append(
                Subject(
                    id=f"ref-{pattern}-{concurrency}",
                    label=f"{label} ({concurrency})",
                    kind="reference",
                    pattern=pattern,
                    concurrency=concurrency,
                    background="fastapi" if module != "naive_get_db" else "none",
                    source=f"reference/{module}.py",
                    target=f"{module}:app",
                )
            )
    return result


def ci_subset(database: str) -> list[Subject]:
    """Each session pattern once and each reference pattern once (see CI_REFERENCES).

    On SQLite: explicit sync with FastAPI background tasks (the default variant),
    service_commit async without, dependency_commit async with.
    """
    everything = subjects(database)
    patterns = list(dict.fromkeys(s.pattern for s in everything if s.kind == "offered"))
    backgrounds = [
        value for value in matrix.choices("background_tasks") if value not in WORKER_BACKGROUNDS
    ]
    wanted = {
        (pattern, "sync" if index == 0 else "async", backgrounds[index % len(backgrounds)])
        for index, pattern in enumerate(patterns)
    }
    return [
        subject
        for subject in everything
        if (
            (subject.pattern, subject.concurrency, subject.background) in wanted
            and subject.kind == "offered"
        )
        or subject.id in CI_REFERENCES
    ]


# ---------------------------------------------------------------------------------------
# The database, seen from outside
# ---------------------------------------------------------------------------------------
class Database:
    """A separate connection to a subject's database (never one of the subject's)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")

    def _sql(self, statement: str) -> str:
        return statement if self.is_sqlite else statement.replace("?", "%s")

    def rows(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.is_sqlite:
            connection = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=10)
            try:
                return connection.execute(statement, params).fetchall()
            finally:
                connection.close()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as pg:
            # No parameters, no placeholders: a literal % (as in LIKE) stays a %.
            return pg.execute(self._sql(statement), params or None).fetchall()

    def scalar(self, statement: str, *params: Any) -> Any:
        rows = self.rows(statement, *params)
        return rows[0][0] if rows else None

    def script(self, statements: list[str]) -> None:
        if self.is_sqlite:
            connection = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=10)
            try:
                for statement in statements:
                    connection.execute(statement)
                connection.commit()
            finally:
                connection.close()
            return
        import psycopg

        with psycopg.connect(self.url) as pg:
            for statement in statements:
                pg.execute(statement.encode())

    def install_commit_guard(self) -> None:
        """From now on, a users row whose email ends in REJECTED fails at COMMIT.

        A trigger points a deferred foreign key at a user that does not exist, so the
        statement succeeds and only the COMMIT is refused, as with a real deferred
        constraint. Installed before the subject starts and never removed (a subject
        may hold the database's write lock forever); other emails are not affected.
        """
        when = f"substr(NEW.email, -{len(REJECTED)}) = '{REJECTED}'"
        if self.is_sqlite:
            install = [
                "CREATE TABLE proof_guard (user_id INTEGER"
                " REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED)",
                *(
                    f"CREATE TRIGGER proof_guard_{kind} AFTER {kind} ON users WHEN {when}"
                    " BEGIN INSERT INTO proof_guard VALUES (-1); END"
                    for kind in ("INSERT", "UPDATE")
                ),
            ]
        else:
            install = [
                "CREATE TABLE proof_guard (user_id integer"
                " REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED)",
                "CREATE FUNCTION proof_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                f" IF right(NEW.email, {len(REJECTED)}) = '{REJECTED}' THEN"
                " INSERT INTO proof_guard VALUES (-1); END IF; RETURN NEW; END $$",
                "CREATE TRIGGER proof_guard AFTER INSERT OR UPDATE ON users"
                " FOR EACH ROW EXECUTE FUNCTION proof_guard()",
            ]
        self.script(install)


# ---------------------------------------------------------------------------------------
# A running subject
# ---------------------------------------------------------------------------------------
class Failure(AssertionError):
    """A behaviour the subject does not keep; the message is the cell's reason."""


def expect(condition: object, message: str | Callable[[], str]) -> None:
    """Raise Failure unless ``condition``; a callable message is built only on failure."""
    if not condition:
        raise Failure(message if isinstance(message, str) else message())


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Timeout|Greenlet)\w*): (.*)$")


def scrub(text: str) -> str:
    text = re.sub(r"0x[0-9a-f]+", "0x…", text)
    text = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", text)
    text = re.sub(r"\[SQL: .*", "", text)
    return text.strip()[:220]


@dataclass
class Server:
    subject: Subject
    base_url: str
    log: Path
    database: Database
    client: httpx.Client = field(init=False)
    counter: int = 0
    #: Timings worth showing (not compared by --check: they vary from run to run).
    measured: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # No keep-alive: a subject that closes a connection after a server error must not
        # make the next probe's request fail on the dead connection.
        self.client = httpx.Client(
            base_url=self.base_url,
            timeout=60,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def email(self, prefix: str, domain: str = "@proof.test") -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}-{secrets.token_hex(3)}{domain}"

    def create_user(self, prefix: str) -> dict[str, Any]:
        response = self.client.post(
            "/users", json={"email": self.email(prefix), "name": f"{prefix} user"}
        )
        expect(response.status_code == 201, f"POST /users answered {response.status_code}")
        body: dict[str, Any] = response.json()
        # Each probe starts from committed data, whenever the subject commits it.
        committed = wait_for(
            lambda: self.database.scalar("SELECT 1 FROM users WHERE id = ?", body["id"]) == 1
        )
        expect(committed, "a user answered with 201 was never committed")
        return body

    def edges(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.client.get("/_proof/edges").json()
        return records

    def checked_out(self) -> int | None:
        value: int | None = self.client.get("/_proof/pool").json()["checked_out"]
        return value

    def quiet(self) -> bool:
        """Wait (with a deadline) until the pool has no connection checked out."""
        return wait_for(lambda: self.checked_out() == 0)

    def log_mark(self) -> int:
        return self.log.stat().st_size

    def log_error(self, mark: int = 0) -> str:
        """The last exception line the server logged after ``mark``, scrubbed of ids.

        A server logs an exception after it has sent the 500, so wait (briefly) for one.
        """
        found: list[re.Match[str]] = []

        def logged() -> bool:
            with self.log.open("rb") as handle:
                handle.seek(mark)
                text = handle.read().decode(errors="replace")
            lines = (line.strip().lstrip("|+ ") for line in text.splitlines())
            found[:] = [m for line in lines if (m := _EXCEPTION_LINE.match(line))]
            return bool(found)

        if not wait_for(logged, 3):
            return ""
        name, message = found[-1].groups()
        return f" (server log: {name.rsplit('.', 1)[-1]}: {scrub(message)})"


def wait_for(condition: Callable[[], bool], deadline: float = DEADLINE) -> bool:
    end = time.monotonic() + deadline
    while True:
        if condition():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------------------------------
# The probes, one per behaviour; each raises Failure with its reason
# ---------------------------------------------------------------------------------------
def probe_commit(server: Server) -> None:
    server.edges()
    email = server.email("commit")
    response = server.client.post(
        "/users", json={"email": email, "name": "commit"}, headers={"x-proof-row": email}
    )
    expect(response.status_code == 201, f"POST /users answered {response.status_code}")
    edge = [e for e in server.edges() if e["method"] == "POST" and e["path"] == "/users"][-1]
    expect(
        edge.get("row_committed"),
        "the 201 was sent before its row was committed (the commit ran after the response)",
    )
    rejected = server.email("late", REJECTED)
    mark = server.log_mark()
    try:
        status = server.client.post("/users", json={"email": rejected, "name": "late"}).status_code
    except httpx.TransportError:
        status = 0
    server.quiet()
    stored = server.database.scalar("SELECT count(*) FROM users WHERE email = ?", rejected)
    expect(
        status != 0,
        lambda: (
            f"the connection was dropped without a response when the COMMIT failed"
            f"{server.log_error(mark)}"
        ),
    )
    expect(
        status >= 400,
        lambda: (
            f"POST /users answered {status} for a write whose COMMIT failed; "
            f"rows stored: {stored}{server.log_error(mark)}"
        ),
    )
    expect(stored == 0, f"a write whose COMMIT failed left {stored} row(s) behind")
    # The pool hands out its connections in turn: as many writes as it holds connections
    # reach the one the failed COMMIT used.
    capacity = int(SETTINGS["DB_POOL_SIZE"]) + int(SETTINGS["DB_MAX_OVERFLOW"])
    for _ in range(capacity):
        mark = server.log_mark()
        email = server.email("after")
        status = server.client.post("/users", json={"email": email, "name": "after"}).status_code
        if status != 201:
            raise Failure(
                f"after a write failed at COMMIT, a later write answered {status}: the failed "
                f"transaction was left on a pooled connection{server.log_error(mark)}"
            )


def probe_rollback(server: Server) -> None:
    first = server.create_user("taken")
    second = server.create_user("renamed")
    response = server.client.patch(
        f"/users/{second['id']}", json={"name": "changed", "email": first["email"]}
    )
    expect(
        response.status_code == 409,
        f"a PATCH failing on a duplicate email after its flush answered "
        f"{response.status_code}, not 409",
    )
    server.quiet()
    name = server.database.scalar("SELECT name FROM users WHERE id = ?", second["id"])
    expect(name == second["name"], f"the failed PATCH left name={name!r} behind")
    missing = server.client.get("/users/999999")
    expect(missing.status_code == 404, f"an HTTPException(404) became {missing.status_code}")
    after = server.client.get(f"/users/{second['id']}")
    expect(
        after.status_code == 200,
        lambda: f"the request after a failed one answered {after.status_code}{server.log_error()}",
    )


def probe_connections(server: Server) -> None:
    server.quiet()
    server.edges()
    user = server.create_user("conn")
    server.client.get("/health")
    server.client.get(f"/users/{user['id']}")
    server.client.get("/users")
    server.client.get("/users/999999")
    server.client.post("/users", json={"email": user["email"], "name": "again"})
    server.client.get("/users", params={"limit": 0})
    server.client.patch(f"/users/{user['id']}", json={"name": "patched"})
    held = [
        f"{e['method']} {e['path']} → {e['status']}"
        for e in server.edges()
        if e["checked_out"] is None or e["checked_out"] > 0
    ]
    expect(
        not held,
        f"a connection was still checked out when the response was sent: {'; '.join(held[:3])}",
    )
    expect(server.quiet(), "a connection stayed checked out after every response was sent")
    if not server.database.is_sqlite:
        open_transactions = server.database.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%'"
        )
        expect(open_transactions == 0, f"{open_transactions} transaction(s) left open")


def probe_fresh(server: Server) -> None:
    user = server.create_user("fresh")
    response = server.client.post(f"/users/{user['id']}/process")
    expect(response.status_code == 200, f"process answered {response.status_code}")
    stored = server.database.scalar("SELECT credits FROM users WHERE id = ?", user["id"])
    returned = response.json()["credits"]
    expect(
        returned == stored == user["credits"] + 1,
        f"process returned credits={returned} while the database holds {stored} "
        "(the second read came from the session's identity map)",
    )


def probe_background(server: Server) -> None:
    user = server.create_user("welcome")
    server.quiet()
    server.edges()
    mark = server.log_mark()
    response = server.client.post(f"/users/{user['id']}/welcome")
    expect(response.status_code == 202, f"welcome answered {response.status_code}")

    def count() -> int:
        value = server.database.scalar("SELECT count(*) FROM emails WHERE user_id = ?", user["id"])
        return int(value or 0)

    appeared = wait_for(lambda: count() >= 1)
    expect(
        appeared,
        lambda: f"no welcome email was recorded within {DEADLINE:.0f} s{server.log_error(mark)}",
    )
    server.quiet()
    rows = server.database.rows(
        "SELECT subject, to_address FROM emails WHERE user_id = ?", user["id"]
    )
    expect(len(rows) == 1, f"{len(rows)} welcome emails were recorded, not 1")
    expect(
        rows[0] == (f"Welcome, {user['name']}!", user["email"]),
        f"the email recorded is {rows[0]!r}",
    )
    edge = [e for e in server.edges() if e["path"].endswith("/welcome")][-1]
    expect(
        edge["checked_out"] == 0,
        "the 202 was sent while the request still held a connection",
    )


def probe_pool(server: Server) -> None:
    user = server.create_user("pool")
    mark = server.log_mark()
    barrier = threading.Barrier(CONCURRENT_CALLS)

    def call(_: int) -> int:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            barrier.wait()
            return client.post(f"/users/{user['id']}/process").status_code

    with ThreadPoolExecutor(CONCURRENT_CALLS) as pool:
        started = time.monotonic()
        statuses = list(pool.map(call, range(CONCURRENT_CALLS)))
        server.measured["pool_seconds"] = round(time.monotonic() - started, 2)
    failed = [status for status in statuses if status != 200]
    expect(
        not failed,
        lambda: (
            f"{len(failed)} of {CONCURRENT_CALLS} concurrent process calls failed "
            f"(status {', '.join(map(str, sorted(set(failed))))}){server.log_error(mark)}"
        ),
    )


ASYNC_ERRORS = re.compile(
    r"greenlet_spawn|MissingGreenlet|concurrent operations are not permitted"
    r"|IllegalStateChangeError|is already in progress"
)


def probe_async(server: Server) -> None:
    mark = server.log_mark()
    user = server.create_user("lazy")
    emails = server.client.get(f"/users/{user['id']}/emails")
    expect(
        emails.status_code == 200,
        lambda: f"GET /users/{{id}}/emails answered {emails.status_code}{server.log_error(mark)}",
    )
    ids = []
    for _ in range(12):
        email = server.email("unseen")
        server.database.script(
            [f"INSERT INTO users (email, name, credits) VALUES ('{email}', 'unseen', 0)"]
        )
        ids.append(server.database.scalar("SELECT id FROM users WHERE email = ?", email))
    barrier = threading.Barrier(len(ids))

    def read(user_id: int) -> int:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            barrier.wait()
            return client.get(f"/users/{user_id}").status_code

    with ThreadPoolExecutor(len(ids)) as pool:
        statuses = list(pool.map(read, ids))
    failed = [status for status in statuses if status != 200]
    expect(
        not failed,
        lambda: f"{len(failed)} of {len(ids)} concurrent reads failed{server.log_error(mark)}",
    )
    logged = [line for line in server.log.read_text().splitlines() if ASYNC_ERRORS.search(line)]
    expect(not logged, f"the server logged: {scrub(logged[0]) if logged else ''}")


def probe_api(server: Server) -> None:
    openapi = server.client.get("/openapi.json").json()
    seen: list[tuple[str, str, int]] = []

    def call(method: str, path: str, template: str, **kwargs: Any) -> httpx.Response:
        response = server.client.request(method, path, **kwargs)
        seen.append((method, template, response.status_code))
        return response

    email = server.email("Case")
    created = call("POST", "/users", "/users", json={"email": email, "name": "case"})
    expect(created.status_code == 201, f"POST /users answered {created.status_code}")
    duplicate = call("POST", "/users", "/users", json={"email": email.lower(), "name": "case"})
    expect(
        duplicate.status_code == 409,
        lambda: (
            f"a duplicate email differing in case answered {duplicate.status_code}, not 409"
            f"{server.log_error()}"
        ),
    )
    server.quiet()
    stored = server.database.scalar(
        "SELECT count(*) FROM users WHERE lower(email) = ?", email.lower()
    )
    expect(stored == 1, f"{stored} users share one email")
    missing = call("GET", "/users/999999", "/users/{user_id}")
    expect(missing.status_code == 404, f"a missing user answered {missing.status_code}")
    limit = call("GET", "/users", "/users", params={"limit": 101})
    expect(limit.status_code == 422, f"limit=101 answered {limit.status_code}")
    wrong = call("POST", "/users", "/users", json={"email": 5, "name": []})
    expect(wrong.status_code == 422, f"a body of the wrong types answered {wrong.status_code}")
    paths = openapi.get("paths", {})
    undeclared = []
    for method, template, status in seen:
        matches = [
            spec
            for path, spec in paths.items()
            if re.fullmatch(
                re.sub(r"\{[^}]+\}", "[^/]+", path), template.replace("{", "").replace("}", "")
            )
            or path.split(":")[0] == template
        ]
        responses = matches[0].get(method.lower(), {}).get("responses", {}) if matches else {}
        if str(status) not in responses:
            undeclared.append(f"{method} {template} → {status}")
    expect(
        not undeclared,
        f"answered with a status /openapi.json does not declare: {'; '.join(undeclared)}",
    )


#: In the order they run. The commit probe runs last because a subject that mishandles
#: a failed COMMIT can break every later write, which would blur the other columns.
PROBES: dict[str, Callable[[Server], None]] = {
    "connections": probe_connections,
    "rollback": probe_rollback,
    "fresh": probe_fresh,
    "background": probe_background,
    "async": probe_async,
    "api": probe_api,
    "pool": probe_pool,
    "commit": probe_commit,
}


# ---------------------------------------------------------------------------------------
# Preparing and running subjects
# ---------------------------------------------------------------------------------------
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
                copier.run_copy(
                    str(ROOT),
                    str(destination),
                    data=matrix.variants()[variant],
                    defaults=True,
                    vcs_ref="HEAD",
                    quiet=True,
                )
            self.renders[variant] = destination
        return self.renders[variant]

    def flavour(self, concurrency: str) -> Path:
        """A render of the chosen database in this flavour (dependencies, migrations)."""
        for name, answers in matrix.variants().items():
            if answers["database"] == self.database and answers["concurrency"] == concurrency:
                return self.render(name)
        raise LookupError(f"no {self.database} {concurrency} variant")

    def build(self, chosen: list[Subject]) -> None:
        for subject in chosen:
            if subject.variant is not None:
                self.render(subject.variant)
        installed = self.folder / "venv" / ".proof-matrix-installed"
        if installed.exists():
            return
        uv = os.fsdecode(find_uv_bin())
        env = {**clean_environ(), "UV_PYTHON_DOWNLOADS": "never"}
        venv = self.folder / "venv"
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, venv], env=env, check=True)
        requirements = []
        for concurrency in ("sync", "async"):
            requirements += ["-r", str(self.flavour(concurrency) / "pyproject.toml")]
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--python",
                self.python,
                *requirements,
                # The shim's own connection on PostgreSQL, whichever driver the app uses.
                "psycopg[binary]>=3.2",
            ],
            env=env,
            check=True,
        )
        installed.touch()

    def versions(self) -> dict[str, str]:
        code = (
            "import json, platform, fastapi, sqlalchemy, starlette, uvicorn;"
            "print(json.dumps({'python': platform.python_version(),"
            " 'fastapi': fastapi.__version__, 'starlette': starlette.__version__,"
            " 'sqlalchemy': sqlalchemy.__version__, 'uvicorn': uvicorn.__version__}))"
        )
        output = subprocess.run(
            [self.python, "-c", code], capture_output=True, text=True, check=True
        ).stdout
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
        import psycopg
        from psycopg import sql

        name = f"proof_{re.sub(r'[^a-z0-9]+', '_', subject.id)[:40]}_{secrets.token_hex(3)}"
        with psycopg.connect(self.pg_admin, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = self.pg_admin.rsplit("/", 1)[0] + f"/{name}"
        try:
            self.migrate(url)
            Database(url).install_commit_guard()
            yield url
        finally:
            with psycopg.connect(self.pg_admin, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )

    def migrate(self, url: str) -> None:
        subprocess.run(
            [self.python, "-m", "alembic", "upgrade", "head"],
            cwd=self.flavour("sync"),
            env={**clean_environ(), "DATABASE_URL": url},
            check=True,
            capture_output=True,
        )


def clean_environ(**extra: str) -> dict[str, str]:
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "DATABASE_URL", "TEST_DATABASE_URL"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in drop and not key.startswith(("DB_", "EXTERNAL_", "PYTEST_"))
    }
    env.update(extra)
    return env


@dataclass
class Launched:
    """A subject's server, started but perhaps not yet ready; ``stack`` ends it all."""

    server: Server
    process: subprocess.Popen[bytes]
    stack: ExitStack

    def wait_ready(self) -> None:
        server, process = self.server, self.process

        def up() -> bool:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{server.subject.id} exited at startup:\n{server.log.read_text()}"
                )
            try:
                return server.client.get("/openapi.json").status_code == 200
            except httpx.TransportError:
                return False

        if not wait_for(up, 60):
            raise RuntimeError(
                f"{server.subject.id} did not start within 60 s:\n{server.log.read_text()}"
            )


def kill(process: subprocess.Popen[bytes]) -> None:
    # Killed outright: the database is thrown away, so a graceful shutdown buys nothing.
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def launch(workspace: Workspace, subject: Subject) -> Launched:
    """Start ``subject`` on a fresh database; its server may still be importing."""
    stack = ExitStack()
    try:
        url = stack.enter_context(workspace.database_for(subject))
        cwd = workspace.render(subject.variant) if subject.variant is not None else REFERENCE
        port = free_port()
        log = workspace.folder / "subjects" / f"{subject.id}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        env = clean_environ(
            DATABASE_URL=url,
            PROOF_TARGET=subject.target,
            PYTHONPATH=os.pathsep.join([str(SCRIPTS), str(cwd)]),
            **SETTINGS,
        )
        command = [str(workspace.python), "-m", "uvicorn", "proof_shim:app"]
        options = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        with log.open("wb") as output:
            process = subprocess.Popen(
                [*command, *options],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        stack.callback(kill, process)
        server = Server(subject, f"http://127.0.0.1:{port}", log, Database(url))
        stack.callback(server.client.close)
    except BaseException:
        stack.close()
        raise
    return Launched(server, process, stack)


#: Routes a probe needs beyond ``POST /users`` and ``GET /users/{id}``: a reference app
#: that does not serve one gets ``n/a`` for that behaviour.
ROUTES_NEEDED = {
    "rollback": ("patch", "/users/{user_id}"),
    "background": ("post", "/users/{user_id}/welcome"),
    "async": ("get", "/users/{user_id}/emails"),
}


def serves(server: Server, method: str, path: str) -> bool:
    paths = server.client.get("/openapi.json").json().get("paths", {})
    return any(
        re.sub(r":[^}]+", "", declared) == path and method in spec
        for declared, spec in paths.items()
    )


def run_subject(launched: Launched) -> dict[str, dict[str, str]]:
    """The subject's cells; what it measured on the way is in ``launched.server.measured``."""
    cells: dict[str, dict[str, str]] = {}
    timings: dict[str, float] = {}
    server, subject = launched.server, launched.server.subject
    with launched.stack:
        launched.wait_ready()
        for behaviour, probe in PROBES.items():
            if behaviour == "async" and subject.concurrency == "sync":
                cells[behaviour] = {"status": "n/a", "detail": "sync subject"}
                continue
            probe_started = time.monotonic()
            try:
                needed = ROUTES_NEEDED.get(behaviour)
                if needed and not serves(server, *needed):
                    method, path = needed
                    detail = f"this reference app serves no {method.upper()} {path}"
                    cells[behaviour] = {"status": "n/a", "detail": detail}
                    continue
                probe(server)
            except Failure as failure:
                cells[behaviour] = {"status": "fail", "detail": str(failure)}
            except Exception as error:  # a probe that breaks is a failing cell, not a crash
                cells[behaviour] = {
                    "status": "fail",
                    "detail": f"probe broke: {type(error).__name__}: {scrub(str(error))}"
                    f"{server.log_error()}",
                }
            else:
                cells[behaviour] = {"status": "pass", "detail": ""}
            timings[behaviour] = time.monotonic() - probe_started
    if os.environ.get("PROOF_MATRIX_TIMINGS"):
        print(" ".join(f"{b}:{t:.1f}s" for b, t in timings.items()), file=sys.stderr)
    return {b.id: cells[b.id] for b in BEHAVIOURS}


def run(database: str, chosen: list[Subject], workdir: Path | None = None) -> dict[str, Any]:
    """Run ``chosen`` and return the matrix (the JSON written for ``database``)."""
    with tempfile.TemporaryDirectory(prefix="proof-matrix-") as temporary:
        folder = workdir or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        workspace = Workspace(folder, database, os.environ.get(PG_ADMIN_ENV, PG_ADMIN_DEFAULT))
        started = time.monotonic()
        workspace.build(chosen)
        rows = []
        # The next subject's server starts while this one is probed: starting is mostly
        # importing (CPU), probing mostly waiting on the slow external service.
        upcoming = launch(workspace, chosen[0]) if chosen else None
        for index, subject in enumerate(chosen):
            subject_started = time.monotonic()
            assert upcoming is not None
            current = upcoming
            try:
                following = chosen[index + 1] if index + 1 < len(chosen) else None
                upcoming = launch(workspace, following) if following else None
                cells = run_subject(current)
            except BaseException:
                current.stack.close()
                if upcoming is not None:
                    upcoming.stack.close()
                raise
            print(
                f"{subject.id:<44} "
                + " ".join(f"{b}={c['status']}" for b, c in cells.items())
                + f"  ({time.monotonic() - subject_started:.1f}s)",
                file=sys.stderr,
            )
            rows.append({**subject.describe(), "cells": cells, "measured": current.server.measured})
        return {
            "database": database,
            "settings": SETTINGS,
            "versions": workspace.versions(),
            "seconds": round(time.monotonic() - started),
            "behaviours": [b.__dict__ for b in BEHAVIOURS],
            "subjects": rows,
        }


def load(path: Path = OUTPUT) -> dict[str, Any]:
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Cells whose status differs between two matrices of one database (actual's subjects)."""
    known = {row["id"]: row for row in expected.get("subjects", [])}
    found = []
    for row in actual["subjects"]:
        old = known.get(row["id"])
        if old is None:
            found.append(f"{row['id']}: not in the checked-in matrix")
            continue
        for behaviour, cell in row["cells"].items():
            before = old["cells"].get(behaviour, {}).get("status")
            if before != cell["status"]:
                found.append(
                    f"{row['id']} / {behaviour}: checked in {before}, now {cell['status']}"
                    + (f" ({cell['detail']})" if cell["detail"] else "")
                )
    return found


def merge(existing: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
    """``existing`` with ``result``'s rows replacing (or joining) those of its database."""
    merged = dict(existing)
    database = result["database"]
    rows = {row["id"]: row for row in existing.get(database, {}).get("subjects", [])}
    rows.update({row["id"]: row for row in result["subjects"]})
    order = [subject.id for subject in subjects(database)]
    merged[database] = {
        **result,
        "subjects": sorted(
            rows.values(),
            key=lambda row: order.index(row["id"]) if row["id"] in order else len(order),
        ),
    }
    return merged


def _terminate(signum: int, _frame: object) -> None:
    # Turn SIGTERM into an exception, so every started server and database is cleaned up.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=matrix.choices("database"), default="sqlite")
    parser.add_argument("--subset", choices=("all", "ci"), default="all")
    parser.add_argument("--only", nargs="+", metavar="SUBJECT", help="subject ids to run")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--workdir", type=Path, help="keep renders, venv and logs here")
    parser.add_argument("--list", action="store_true", help="print the subjects and exit")
    args = parser.parse_args(argv)
    chosen = ci_subset(args.database) if args.subset == "ci" else subjects(args.database)
    if args.only:
        unknown = set(args.only) - {s.id for s in subjects(args.database)}
        if unknown:
            parser.error(f"unknown subjects: {', '.join(sorted(unknown))}")
        chosen = [s for s in subjects(args.database) if s.id in args.only]
    if args.list:
        for subject in chosen:
            print(subject.id)
        return 0
    result = run(args.database, chosen, args.workdir)
    existing = load(args.output)
    if args.check:
        found = differences(existing.get(args.database, {}), result)
        for line in found:
            print(line)
        print(
            f"{len(chosen)} subjects, {len(found)} differences from {args.output.name}",
            file=sys.stderr,
        )
        return 1 if found else 0
    args.output.write_text(json.dumps(merge(existing, result), indent=2) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
