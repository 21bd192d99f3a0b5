"""The benchmark's databases: one seeded throwaway database per set of migrations."""

from __future__ import annotations

import argparse
import os
from contextlib import ExitStack

import psycopg
from harness.commands import check
from harness.environ import isolated_environ
from harness.postgres import throwaway_database
from harness.waits import LOOPBACK

from bench.routes import MAX_OVERFLOW, POOL_SIZE
from bench.services import Service


def require_loopback(admin_url: str) -> None:
    """Refuse a server elsewhere before anything is created there."""
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    if info.get("host") not in (LOOPBACK, None) and info.get("hostaddr") != LOOPBACK:
        raise SystemExit(f"the benchmark only uses PostgreSQL on {LOOPBACK}")


def prepare_databases(stack: ExitStack, services: list[Service], args: argparse.Namespace) -> str:
    """A seeded database for each set of migrations among the variants (the reference
    apps use the first); sets each service's ``database_url``, returns the server version."""
    require_loopback(args.pg_url)
    version = "?"
    urls: dict[tuple[str, ...], str] = {}
    for service in services:
        if service.migrations and service.migrations not in urls:
            url = stack.enter_context(
                throwaway_database(args.pg_url, str(os.getpid()), prefix="bench")
            )
            version = prepare_database(url, service, args.rows)
            urls[service.migrations] = url
    first = next(iter(urls.values()))
    for service in services:
        service.database_url = urls.get(service.migrations, first)
    return version


def prepare_database(url: str, migrator: Service, rows: int) -> str:
    """Migrate with a rendered project's Alembic, seed ``rows`` users; the server version."""
    check(
        [migrator.python, "-m", "alembic", "upgrade", "head"],
        cwd=migrator.cwd,
        env=server_env(url, 0),
    )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO users (email, name) SELECT 'user' || n || '@example.com', "
            "'User ' || n FROM generate_series(1, %s) AS n",
            (rows,),
        )
        connection.execute("VACUUM ANALYZE users")
        version = connection.execute("SHOW server_version").fetchone()
    return str(version[0]) if version else "?"


def forget_created_users(services: list[Service], rows: int) -> None:
    """Every service starts from the same table: the seeded users, nobody else."""
    for url in {service.database_url for service in services}:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("DELETE FROM users WHERE id > %s", (rows,))


def server_env(url: str, delay_ms: int) -> dict[str, str]:
    """A server's environment: the benchmark database, the pool and the external delay."""
    return isolated_environ(
        DATABASE_URL=url,
        DB_POOL_SIZE=str(POOL_SIZE),
        DB_MAX_OVERFLOW=str(MAX_OVERFLOW),
        EXTERNAL_SERVICE_DELAY_MS=str(delay_ms),
        LOG_LEVEL="WARNING",
    )
