"""Throwaway MariaDB databases, made and dropped on an administrator's server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import unquote, urlsplit, urlunsplit

import pymysql

from harness.postgres import DatabaseUnreachable, database_name

#: The administrator URL of the MariaDB server the tests use.
MARIADB_URL_ENV = "TEMPLATE_TEST_MARIADB_URL"
DEFAULT_MARIADB_URL = "mariadb://root@127.0.0.1:3306/"
#: Databases a throwaway name may never take.
PROTECTED = frozenset({"mysql", "information_schema", "performance_schema", "sys", "test"})


def admin_url() -> str:
    return os.environ.get(MARIADB_URL_ENV) or DEFAULT_MARIADB_URL


def connect_admin(url: str) -> pymysql.Connection:
    """An autocommit connection to the server ``url`` names (its database, if any)."""
    parts = urlsplit(url)
    try:
        return pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/") or None,
            autocommit=True,
            connect_timeout=10,
            charset="utf8mb4",
        )
    except pymysql.err.OperationalError as error:
        problem = str(error).strip()
    raise DatabaseUnreachable("MariaDB", url, problem, MARIADB_URL_ENV)


@contextmanager
def throwaway_database(admin: str, hint: str, prefix: str = "tt") -> Iterator[str]:
    """Create an empty utf8mb4 database, yield its URL, and drop it after."""
    name = database_name(hint, prefix)
    assert name not in PROTECTED
    with connect_admin(admin) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
    finally:
        with connect_admin(admin) as connection, connection.cursor() as cursor:
            # Connections a test left behind would hold metadata locks on its tables.
            cursor.execute(
                "SELECT id FROM information_schema.PROCESSLIST "
                "WHERE db = %s AND id <> CONNECTION_ID()",
                (name,),
            )
            for (process,) in cursor.fetchall():
                with suppress(pymysql.err.OperationalError):  # it ended meanwhile
                    cursor.execute(f"KILL {int(process)}")
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


def table_exists(url: str, table: str) -> bool:
    """Whether ``table`` exists in the database ``url`` names."""
    with connect_admin(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.TABLES WHERE table_schema = DATABASE() "
            "AND table_name = %s",
            (table,),
        )
        return cursor.fetchone() is not None
