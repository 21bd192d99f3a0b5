"""COUNTER-EXAMPLE: one module-global ``Session`` shared by every request (do not copy).

The seed texts' "wrong" example, ``session = Session(engine)`` at import time, used by
every endpoint, which commit their writes. Measured by ``scripts/proof_matrix.py``.
"""

from common import SYNC_DRIVERS, database_url, enable_sqlite_foreign_keys, pool_options
from fastapi import FastAPI
from routes import add_sync_routes
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

engine = create_engine(database_url(SYNC_DRIVERS), **pool_options())
enable_sqlite_foreign_keys(engine)

# Global session: shared across all requests.
session = Session(engine)


def get_session() -> Session:
    return session


app = FastAPI(title="module-global session (sync)")
app.state.engine = engine
add_sync_routes(app, get_session, commit=True)
