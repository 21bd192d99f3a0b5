"""Test helpers: a real server in a thread, waiting with a deadline, creating users,
making the app's flushes fail, the database seen from outside, and Alembic commands."""

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio.to_thread
import httpx
import uvicorn
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, event, exists, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class LiveServer:
    """The app under a real uvicorn server on a free loopback port, in a thread.

    In-process test clients wait for background tasks and re-raise server errors;
    a real server shows what a client really sees, in the order it sees it.
    """

    def __init__(self, app: FastAPI, worker_threads: int | None = None) -> None:
        self.app = app
        served = app if worker_threads is None else with_threads(app, worker_threads)
        config = uvicorn.Config(served, host="127.0.0.1", port=0, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        wait_until(lambda: self._server.started, "the server to start")
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.client.close()
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def wait_idle(self) -> None:
        """Wait until the server has finished every request it received, the work
        scheduled after a response included (a background task runs inside its
        request's task), so nothing of one test runs on into the next."""
        wait_until(
            lambda: not self._server.server_state.tasks,
            "the server to finish its requests and their background work",
        )

    def checked_out(self) -> int:
        """Connections the app's pool has handed out and not had back."""
        checked_out: int = self.app.state.engine.pool.checkedout()
        return checked_out


def with_threads(app: ASGIApp, threads: int) -> ASGIApp:
    """Serve ``app`` with ``threads`` worker threads instead of the default 40.

    Sync endpoints and dependencies run on those threads; fewer of them make "more
    requests than worker threads" happen with a handful of requests.
    """

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # first call, on the server's event loop
            anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        await app(scope, receive, send)

    return served


ServerFactory = Callable[..., AbstractContextManager["LiveServer"]]


def create(
    client: httpx.Client | TestClient, email: str = "a@x.io", name: str = "Ann"
) -> dict[str, Any]:
    """``POST /users`` through a real server's client or an in-process one; the
    created user, after checking it was a 201."""
    response = client.post("/users", json={"email": email, "name": name})
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


@contextmanager
def flush_raises(exc: BaseException) -> Iterator[None]:
    """Inside the block every flush in the app raises ``exc`` once it has run (its
    INSERT or UPDATE has reached the database); sync and async sessions alike."""

    def raise_it(_session: Session, _context: object) -> None:
        raise exc

    event.listen(Session, "after_flush", raise_it)
    try:
        yield
    finally:
        event.remove(Session, "after_flush", raise_it)


def process_concurrently(server: LiveServer, count: int) -> list[httpx.Response]:
    """Create ``count`` users, then ``POST /users/{id}/process`` for all of them at once."""
    ids = [create(server.client, f"u{n}@x.io", f"U{n}")["id"] for n in range(count)]
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(
            pool.map(
                lambda user_id: server.client.post(f"/users/{user_id}/process"), ids
            )
        )


def admin_url(url: str) -> URL:
    """The same database through a sync driver, for looking at it from outside."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = {"sqlite": "pysqlite", "postgresql": "psycopg"}[backend]
    return parsed.set(drivername=f"{backend}+{driver}")


def count(admin: Engine, table: str) -> int:
    with admin.connect() as connection:
        return int(
            connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        )


def delete_all(admin: Engine, metadata: MetaData) -> None:
    """Empty every table of the models, those that refer to others first.

    Tables that are empty already are left alone: after a test that wrote nothing
    (or only inside a rolled-back transaction) nothing is written, and SQLite has no
    commit to sync to disk.
    """
    with admin.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            if connection.scalar(select(exists().select_from(table))):
                connection.execute(table.delete())


def add_users(admin: Engine, start: int, stop: int) -> None:
    """Insert users ``u<start>`` .. ``u<stop - 1>`` directly, in one statement."""
    with admin.begin() as connection:
        connection.execute(
            text("INSERT INTO users (email, name, credits) VALUES (:e, :n, :c)"),
            [
                {"e": f"u{n}@x.io", "n": f"User {n}", "c": n % 7}
                for n in range(start, stop)
            ],
        )


def open_transactions(admin: Engine) -> int:
    """How many other connections sit inside a transaction on the test database.

    On SQLite only a write transaction can be seen from outside: it holds the write
    lock, which then cannot be taken without waiting.
    """
    with admin.connect() as connection:
        if admin.dialect.name == "postgresql":
            stuck = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                    " AND state LIKE 'idle in transaction%'"
                )
            ).scalar_one()
            return int(stuck)
        connection.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError:
            return 1
        connection.exec_driver_sql("ROLLBACK")
        return 0


def assert_connections_released(server: LiveServer, admin: Engine) -> None:
    """Every connection goes back to the pool and no transaction stays open.

    Waits (with a deadline) rather than checks once: work that legitimately runs
    after the response, such as a background task, may still be finishing.
    """
    wait_until(
        lambda: server.checked_out() == 0 and open_transactions(admin) == 0,
        "every connection back in the pool and no transaction left open",
    )


#: Emails ending in this are refused at COMMIT once COMMIT_GUARD is installed.
REJECTED_AT_COMMIT = "@rejected-at-commit.test"

# A deferred foreign key is checked only at COMMIT. These triggers point one at a
# user that does not exist whenever a user's email ends in REJECTED_AT_COMMIT, so
# such a write flushes fine and fails at COMMIT, as a DBA's deferred constraint would.
COMMIT_GUARD = {
    "sqlite": (
        [
            "CREATE TABLE commit_guard (user_id INTEGER"
            " REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED)",
            *(
                f"CREATE TRIGGER commit_guard_{event_} AFTER {event_} ON users"
                f" WHEN substr(NEW.email, -{len(REJECTED_AT_COMMIT)})"
                f" = '{REJECTED_AT_COMMIT}'"
                " BEGIN INSERT INTO commit_guard VALUES (-NEW.id); END"
                for event_ in ("INSERT", "UPDATE")
            ),
        ],
        [
            "DROP TRIGGER commit_guard_INSERT",
            "DROP TRIGGER commit_guard_UPDATE",
            "DROP TABLE commit_guard",
        ],
    ),
    "postgresql": (
        [
            "CREATE TABLE commit_guard (user_id integer"
            " REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED)",
            "CREATE FUNCTION commit_guard() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN IF right(NEW.email, {len(REJECTED_AT_COMMIT)})"
            f" = '{REJECTED_AT_COMMIT}' THEN"
            " INSERT INTO commit_guard VALUES (-NEW.id); END IF; RETURN NEW; END $$",
            "CREATE TRIGGER commit_guard AFTER INSERT OR UPDATE ON users"
            " FOR EACH ROW EXECUTE FUNCTION commit_guard()",
        ],
        [
            "DROP TRIGGER commit_guard ON users",
            "DROP FUNCTION commit_guard()",
            "DROP TABLE commit_guard",
        ],
    ),
}


@contextmanager
def installed(admin: Engine, statements: tuple[list[str], list[str]]) -> Iterator[None]:
    """Run the first list of statements on the database, the second when the block
    ends: a trigger or table a test needs, and its removal."""
    install, remove = statements
    with admin.begin() as connection:
        for statement in install:
            connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        with admin.begin() as connection:
            for statement in remove:
                connection.exec_driver_sql(statement)


@contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def alembic(database_url: str, name: str, *args: str) -> None:
    """Run an Alembic command (upgrade, downgrade, check) on ``database_url``."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    with environment(DATABASE_URL=database_url):
        getattr(command, name)(config, *args)


class SilentServer:
    """A loopback port that accepts connections and never says a word: a database
    server that hangs, as a frozen host or a half-dead proxy does."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._listener.close()


class DatabaseProxy:
    """A loopback TCP proxy in front of the database server, to cut the service off
    from it (killing every open connection) and to bring it back."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open = True
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._listener.close()
        self.cut()

    def cut(self) -> None:
        """Refuse new connections and drop the open ones, as a dead server would."""
        with self._lock:
            self._open = False
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        with self._lock:
            self._open = True

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # the listener was closed
                return
            with self._lock:
                if not self._open:
                    client.close()
                    continue
                server = socket.create_connection(self._target)
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(
                    target=self._pump, args=(source, sink), daemon=True
                ).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


#: The service's own pool settings (the tests' pyproject makes the pool small and
#: strict, to catch leaks); for tests about what a deployed service answers.
DEFAULT_POOL = {"db_pool_size": 5, "db_max_overflow": 10, "db_pool_timeout": 30}

#: Every route of the API, with a body where it takes one; ``{id}`` is a user's id.
ROUTES: list[tuple[str, str, object]] = [
    ("GET", "/health", None),
    ("POST", "/users", {"email": "new@x.io", "name": "New"}),
    ("POST", "/users/import", [{"email": "imported@x.io", "name": "Imported"}]),
    ("GET", "/users", None),
    ("GET", "/users/export", None),
    ("GET", "/users/{id}", None),
    ("PATCH", "/users/{id}", {"name": "Renamed"}),
    ("DELETE", "/users/{id}", None),
    ("POST", "/users/{id}/process", None),
    ("POST", "/users/{id}/welcome", None),
    ("GET", "/users/{id}/emails", None),
]


def call_every_route(
    url: str, user_id: int = 1, deadline: float = 10, copies: int = 1
) -> dict[str, httpx.Response]:
    """Call every route at once (``copies`` times each), each call on its own
    connection, with a deadline (s); the answers are keyed by route and copy."""
    calls = [
        (f"{method} {path}" + (f" #{copy}" if copy else ""), method, path, body)
        for copy in range(copies)
        for method, path, body in ROUTES
    ]

    def call(name: str, method: str, path: str, body: object) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=deadline) as client:
            return client.request(method, path.format(id=user_id), json=body)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        responses = pool.map(call, *zip(*calls, strict=True))
        return {name: r for (name, *_), r in zip(calls, responses, strict=True)}


@contextmanager
def partitioned(port: int) -> Iterator[None]:
    """Inside the block, every packet to or from a loopback TCP port is dropped, as a
    network partition drops them: nothing is refused or closed, nothing answers.

    Needs root and iptables; the rules match only loopback and that one port.
    """
    rules = [
        ["INPUT", "-i", "lo", "-p", "tcp", f"--{side}", str(port), "-j", "DROP"]
        for side in ("dport", "sport")
    ]
    for rule in rules:
        subprocess.run(["iptables", "-I", *rule], check=True)
    try:
        yield
    finally:
        for rule in rules:
            subprocess.run(["iptables", "-D", *rule], check=True)


def partition_unavailable() -> str | None:
    """Why ``partitioned`` cannot run here, or None if it can."""
    if os.geteuid() != 0:
        return "dropping packets with iptables needs root"
    if shutil.which("iptables") is None:
        return "iptables is not installed"
    return None
