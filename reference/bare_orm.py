"""The cheapest ORM reads FastAPI can serve: the benchmark's ceiling for the ORM path.

``GET /users/{id}`` opens a session, calls ``Session.get`` and returns the user.
``POST /users/import`` inserts its rows in one transaction with one executemany
``INSERT`` and no savepoints: the plain batch insert the generated services' import (a
savepoint per row) is measured against; a taken email fails the whole batch.
``POST /users/{id}/process`` reads a user as ``GET`` does, closes the session, waits
``EXTERNAL_SERVICE_DELAY_MS``, adds a credit through an engine of its own (the
simulated external service, as in a generated service: a pool of 5 plus 10, one
autocommit ``UPDATE``) and reads the user again in a new session. No dependencies, no
middleware, no exception handlers, no pool_pre_ping, no limit on request sessions:
only what any service reading rows through the SQLAlchemy ORM pays. ``async_app``
uses an ``AsyncSession`` on asyncpg, ``sync_app`` a ``Session`` on psycopg in
FastAPI's thread pool.

The benchmark (``scripts/benchmark.py``) serves both beside the generated services and
the raw asyncpg bound. What a generated variant cannot do better than these two is the
ORM's cost, not the variant's: if ``async_app`` reaches less than some fraction of the
raw bound, so does every ORM-based service on that machine. Nobody should serve an API
like this (a missing user is a bare 404, and nothing else is handled).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \\
    uvicorn --app-dir reference bare_orm:async_app

Needs fastapi, sqlalchemy, asyncpg, psycopg and uvicorn. The models, the URL and the
pool settings (``DB_POOL_SIZE``, ``DB_MAX_OVERFLOW``, ``DB_POOL_TIMEOUT``) come from
``common.py``, as for the other reference apps.
"""

from __future__ import annotations

import asyncio
import time

from common import (
    ASYNC_DRIVERS,
    SYNC_DRIVERS,
    User,
    UserIn,
    UserOut,
    database_url,
    pool_options,
    setting,
)
from fastapi import FastAPI, HTTPException
from sqlalchemy import Update, create_engine, insert, update
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker

DELAY = int(setting("EXTERNAL_SERVICE_DELAY_MS", "0")) / 1000
EXTERNAL_POOL = {"pool_size": 5, "max_overflow": 10, "isolation_level": "AUTOCOMMIT"}


def found(user: User | None) -> UserOut:
    if user is None:
        raise HTTPException(404)
    return UserOut.model_validate(user)


def add_credit(user_id: int) -> Update:
    return update(User).where(User.id == user_id).values(credits=User.credits + 1)


async_sessions = async_sessionmaker(
    create_async_engine(database_url(ASYNC_DRIVERS), **pool_options()), expire_on_commit=False
)
sync_sessions = sessionmaker(
    create_engine(database_url(SYNC_DRIVERS), **pool_options()), expire_on_commit=False
)
async_external = create_async_engine(database_url(ASYNC_DRIVERS), **EXTERNAL_POOL)
sync_external = create_engine(database_url(SYNC_DRIVERS), **EXTERNAL_POOL)

async_app = FastAPI(title="bare ORM reads, async (benchmark ceiling)")
sync_app = FastAPI(title="bare ORM reads, sync (benchmark ceiling)")


@async_app.get("/health")
@sync_app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@async_app.get("/users/{user_id}")
async def get_user_async(user_id: int) -> UserOut:
    async with async_sessions() as session:
        return found(await session.get(User, user_id))


@sync_app.get("/users/{user_id}")
def get_user_sync(user_id: int) -> UserOut:
    with sync_sessions() as session:
        return found(session.get(User, user_id))


@async_app.post("/users/import")
async def import_async(rows: list[UserIn]) -> dict[str, int]:
    async with async_sessions.begin() as session:
        await session.execute(insert(User), [row.model_dump() for row in rows])
    return {"created": len(rows)}


@sync_app.post("/users/import")
def import_sync(rows: list[UserIn]) -> dict[str, int]:
    with sync_sessions.begin() as session:
        session.execute(insert(User), [row.model_dump() for row in rows])
    return {"created": len(rows)}


@async_app.post("/users/{user_id}/process")
async def process_async(user_id: int) -> UserOut:
    async with async_sessions() as session:
        found(await session.get(User, user_id))
    await asyncio.sleep(DELAY)
    async with async_external.connect() as connection:
        await connection.execute(add_credit(user_id))
    async with async_sessions() as session:
        return found(await session.get(User, user_id))


@sync_app.post("/users/{user_id}/process")
def process_sync(user_id: int) -> UserOut:
    with sync_sessions() as session:
        found(session.get(User, user_id))
    time.sleep(DELAY)
    with sync_external.connect() as connection:
        connection.execute(add_credit(user_id))
    with sync_sessions() as session:
        return found(session.get(User, user_id))
