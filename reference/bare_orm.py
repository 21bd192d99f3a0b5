"""The cheapest ORM read FastAPI can serve: the benchmark's ceiling for the ORM path.

One route, ``GET /users/{id}``, which opens a session, calls ``Session.get`` and
returns the user. No dependencies, no middleware, no exception handlers, no liveness
check, no limit on request sessions: only what any service reading a row through the
SQLAlchemy ORM pays. ``async_app`` uses an ``AsyncSession`` on asyncpg, ``sync_app`` a
``Session`` on psycopg in FastAPI's thread pool.

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

from common import ASYNC_DRIVERS, SYNC_DRIVERS, User, UserOut, database_url, pool_options
from fastapi import FastAPI, HTTPException
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker


def found(user: User | None) -> UserOut:
    if user is None:
        raise HTTPException(404)
    return UserOut.model_validate(user)


async_sessions = async_sessionmaker(
    create_async_engine(database_url(ASYNC_DRIVERS), **pool_options()), expire_on_commit=False
)
sync_sessions = sessionmaker(
    create_engine(database_url(SYNC_DRIVERS), **pool_options()), expire_on_commit=False
)

async_app = FastAPI(title="bare ORM read, async (benchmark ceiling)")
sync_app = FastAPI(title="bare ORM read, sync (benchmark ceiling)")


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
