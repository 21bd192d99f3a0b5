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

Needs fastapi, sqlalchemy, asyncpg, psycopg and uvicorn. ``DB_POOL_SIZE`` and
``DB_MAX_OVERFLOW`` set both pools as in a generated service (defaults 5 and 10).
"""

from __future__ import annotations

import os

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, create_engine
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

URL = os.environ.get("DATABASE_URL", "postgresql://postgres@localhost:5432/app")
POOL = {
    "pool_size": int(os.environ.get("DB_POOL_SIZE", "5")),
    "max_overflow": int(os.environ.get("DB_MAX_OVERFLOW", "10")),
}


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(100))
    credits: Mapped[int]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    credits: int


def found(user: User | None) -> UserRead:
    if user is None:
        raise HTTPException(404)
    return UserRead.model_validate(user)


async_sessions = async_sessionmaker(
    create_async_engine(URL.replace("postgresql://", "postgresql+asyncpg://", 1), **POOL),
    expire_on_commit=False,
)
sync_sessions = sessionmaker(
    create_engine(URL.replace("postgresql://", "postgresql+psycopg://", 1), **POOL),
    expire_on_commit=False,
)

async_app = FastAPI(title="bare ORM read, async (benchmark ceiling)")
sync_app = FastAPI(title="bare ORM read, sync (benchmark ceiling)")


@async_app.get("/health")
@sync_app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@async_app.get("/users/{user_id}")
async def get_user_async(user_id: int) -> UserRead:
    async with async_sessions() as session:
        return found(await session.get(User, user_id))


@sync_app.get("/users/{user_id}")
def get_user_sync(user_id: int) -> UserRead:
    with sync_sessions() as session:
        return found(session.get(User, user_id))
