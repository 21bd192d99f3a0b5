"""COUNTER-EXAMPLE: the seed texts' async ``get_db`` (do not copy).

``sessionmaker(async_engine, class_=AsyncSession)`` with its defaults, one session per
request from a plain ``Depends``, endpoints that commit. Measured by
``scripts/proof_matrix.py``.
"""

from collections.abc import AsyncIterator

from common import ASYNC_DRIVERS, database_url, enable_sqlite_foreign_keys, pool_options
from fastapi import FastAPI
from routes import add_async_routes
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker

async_engine = create_async_engine(database_url(ASYNC_DRIVERS), **pool_options())
enable_sqlite_foreign_keys(async_engine.sync_engine)
AsyncSessionLocal = sessionmaker(async_engine, class_=AsyncSession)  # type: ignore[call-overload]


async def get_async_db() -> AsyncIterator[AsyncSession]:
    async with AsyncSessionLocal() as session:
        yield session


app = FastAPI(title="naive get_db (async)")
app.state.engine = async_engine
add_async_routes(app, get_async_db, commit=True)
