"""Throwaway PostgreSQL databases, made and dropped on an administrator's server."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

#: The administrator URL of the server the tests, the proof matrix and the benchmark use.
PG_URL_ENV = "TEMPLATE_TEST_PG_URL"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
#: Databases a throwaway name may never take.
PROTECTED = frozenset({"postgres", "template0", "template1"})


class DatabaseUnreachable(RuntimeError):
    """The server could not be reached; the message names the URL (password hidden)
    and the environment variable that points the tests at another server."""

    def __init__(self, server: str, url: str, problem: str, url_env: str) -> None:
        super().__init__(
            f"{server} is unreachable at {redact(url)}: {problem}\n"
            f"Start it (the CI script does: .ci/run) or point {url_env} at a server "
            "where you may create databases."
        )


def admin_url() -> str:
    return os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def with_database(url: str, database: str) -> str:
    """``url`` naming another database on the same server (same user, host, options)."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def database_name(hint: str, prefix: str = "tt") -> str:
    """A fresh database name from a hint: ``<prefix>_<hint>_<random>``, within 63 bytes."""
    stem = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")[:45]
    return f"{prefix}_{stem}_{secrets.token_hex(4)}"


def connect_admin(url: str) -> psycopg.Connection[Any]:
    """An autocommit connection to ``url``; ``DatabaseUnreachable`` if there is no server."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        problem = str(error).strip()
    raise DatabaseUnreachable("PostgreSQL", url, problem, PG_URL_ENV)


@contextmanager
def throwaway_database(admin: str, hint: str, prefix: str = "tt") -> Iterator[str]:
    """Create an empty database, yield its URL, and drop it (even if still in use) after."""
    name = database_name(hint, prefix)
    admin_database = urlsplit(admin).path.lstrip("/") or "postgres"
    assert name not in {admin_database, *PROTECTED}
    with connect_admin(admin) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(admin, name)
    finally:
        with connect_admin(admin) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def database_exists(admin: str, name: str) -> bool:
    with connect_admin(admin) as connection:
        row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None


def table_exists(url: str, table: str) -> bool:
    """Whether ``table`` exists in the database ``url`` names."""
    with connect_admin(url) as connection:
        row = connection.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        return bool(row and row[0])
