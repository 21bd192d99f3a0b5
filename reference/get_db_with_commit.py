"""COUNTER-EXAMPLE: ``get_db_with_commit`` at FastAPI's default dependency scope (do not copy).

The dependency commits after ``yield`` and rolls back on an exception; endpoints only
flush. Since FastAPI 0.118 the code after ``yield`` runs after the response has been
sent, unless the dependency is declared with ``Depends(..., scope="function")``, which
this one, as in the seed text, is not. Measured by ``scripts/proof_matrix.py``.
"""

from collections.abc import Iterator

from common import SYNC_DRIVERS, database_url, enable_sqlite_foreign_keys, pool_options
from fastapi import FastAPI
from routes import add_sync_routes
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine(database_url(SYNC_DRIVERS), **pool_options())
enable_sqlite_foreign_keys(engine)
SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)


def get_db_with_commit() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
        db.commit()  # Auto-commit on success
    except Exception:
        db.rollback()  # Rollback on error
        raise
    finally:
        db.close()


app = FastAPI(title="get_db_with_commit (sync)")
app.state.engine = engine
add_sync_routes(app, get_db_with_commit, commit=False)
