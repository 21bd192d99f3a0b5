"""COUNTER-EXAMPLE: one module-global ``AsyncSession`` shared by every request (do not copy).

The seed text's global session in an async app: every ``async def`` endpoint uses the
same ``AsyncSession``. Measured by ``scripts/proof_matrix.py``.
"""

from common import ASYNC_DRIVERS, database_url, enable_sqlite_foreign_keys, pool_options
from fastapi import FastAPI
from routes import add_async_routes
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

async_engine = create_async_engine(database_url(ASYNC_DRIVERS), **pool_options())
enable_sqlite_foreign_keys(async_engine.sync_engine)

# Global session: shared across all requests.
session = AsyncSession(async_engine)


def get_session() -> AsyncSession:
    return session


app = FastAPI(title="module-global session (async)")
app.state.engine = async_engine
add_async_routes(app, get_session, commit=True)
