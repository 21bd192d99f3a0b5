"""COUNTER-EXAMPLE: the async ``get_db_with_commit`` at the default scope (do not copy).

The seed text's commit-after-``yield`` dependency written for an ``AsyncSession``;
endpoints only flush. Measured by ``scripts/proof_matrix.py``.
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


async def get_db_with_commit() -> AsyncIterator[AsyncSession]:
    db = AsyncSessionLocal()
    try:
        yield db
        await db.commit()
    except Exception:
        await db.rollback()
        raise
    finally:
        await db.close()


app = FastAPI(title="get_db_with_commit (async)")
app.state.engine = async_engine
add_async_routes(app, get_db_with_commit, commit=False)
