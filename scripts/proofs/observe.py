"""A running subject seen from outside: its database over a separate connection, and
its server over HTTP and through the shim's record of the pool."""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from harness.waits import wait_for

from proofs.behaviours import DEADLINE, REJECTED
from proofs.subjects import Subject


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
            lambda: self.database.scalar("SELECT 1 FROM users WHERE id = ?", body["id"]) == 1,
            DEADLINE,
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
        return wait_for(lambda: self.checked_out() == 0, DEADLINE)

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
