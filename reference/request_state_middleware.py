"""COUNTER-EXAMPLE: a session per request opened by middleware on ``request.state.db``.

The seed text's ``BaseHTTPMiddleware``: it opens a sync ``Session`` before the route
runs, commits after ``call_next`` returns, rolls back on an exception and closes in
``finally``; endpoints only flush. Do not copy. Measured by ``scripts/proof_matrix.py``.
"""

from typing import Any

from common import SYNC_DRIVERS, database_url, enable_sqlite_foreign_keys, pool_options
from fastapi import FastAPI, Request
from routes import add_sync_routes
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.base import BaseHTTPMiddleware

engine = create_engine(database_url(SYNC_DRIVERS), **pool_options())
enable_sqlite_foreign_keys(engine)
SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)


class DBSessionMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Any) -> Any:
        request.state.db = SessionLocal()
        try:
            response = await call_next(request)
            request.state.db.commit()
        except Exception:
            request.state.db.rollback()
            raise
        finally:
            request.state.db.close()
        return response


def get_db(request: Request) -> Session:
    db: Session = request.state.db
    return db


app = FastAPI(title="request.state.db middleware (sync)")
app.state.engine = engine
app.add_middleware(DBSessionMiddleware)
add_sync_routes(app, get_db, commit=False)
