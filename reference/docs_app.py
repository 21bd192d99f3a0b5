"""The read a user writes by following the FastAPI and SQLAlchemy documentation.

This is the benchmark's yardstick for a generated async service's read: what a team
gets without the template. An async engine with ``pool_pre_ping=True`` (SQLAlchemy's
"Dealing with Disconnects"), a dependency that yields an ``AsyncSession`` (FastAPI's
"Dependencies with yield", typed with ``Annotated``), ``session.get`` and a response
model. Nothing else: no error handlers, no schema check, no limit on request
sessions, which is why a generated service is allowed to read a little slower.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \\
    uvicorn --app-dir reference docs_app:app

Needs fastapi, sqlalchemy[asyncio], asyncpg and uvicorn. The models, the URL and the
pool settings come from ``common.py``, as for the other reference apps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from common import ASYNC_DRIVERS, User, UserOut, database_url, pool_options
from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine(database_url(ASYNC_DRIVERS), pool_pre_ping=True, **pool_options())
sessions = async_sessionmaker(engine, expire_on_commit=False)

app = FastAPI(title="the docs' async read (benchmark reference)")


async def get_session() -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/users/{user_id}", response_model=UserOut)
async def read_user(user_id: int, session: SessionDep) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="User not found")
    return user
