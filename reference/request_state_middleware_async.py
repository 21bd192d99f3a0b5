"""COUNTER-EXAMPLE: the ``request.state.db`` middleware with an ``AsyncSession``.

The seed text's middleware, awaiting the async session's commit, rollback and close;
endpoints only flush. Do not copy. Measured by ``scripts/proof_matrix.py``.
"""

from typing import Any

from common import ASYNC_DRIVERS, database_url, enable_sqlite_foreign_keys, pool_options
from fastapi import FastAPI, Request
from routes import add_async_routes
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker
from starlette.middleware.base import BaseHTTPMiddleware

async_engine = create_async_engine(database_url(ASYNC_DRIVERS), **pool_options())
enable_sqlite_foreign_keys(async_engine.sync_engine)
AsyncSessionLocal = sessionmaker(async_engine, class_=AsyncSession)  # type: ignore[call-overload]


class DBSessionMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Any) -> Any:
        request.state.db = AsyncSessionLocal()
        try:
            response = await call_next(request)
            await request.state.db.commit()
        except Exception:
            await request.state.db.rollback()
            raise
        finally:
            await request.state.db.close()
        return response


def get_db(request: Request) -> AsyncSession:
    db: AsyncSession = request.state.db
    return db


app = FastAPI(title="request.state.db middleware (async)")
app.state.engine = async_engine
app.add_middleware(DBSessionMiddleware)
add_async_routes(app, get_db, commit=False)
