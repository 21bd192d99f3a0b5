"""COUNTER-EXAMPLE: the session pattern most FastAPI tutorials show. Do not copy it.

One ``get_db`` dependency yields a ``Session`` for the whole request (FastAPI's default
dependency scope, so its ``finally`` runs after the response has been sent), and each
endpoint commits where it writes. It is here to be measured and compared against, not
used: the benchmark (``scripts/benchmark.py``) runs it beside the generated services,
and the docs show what it gets wrong:

- ``process`` reads the user, lets the external service add a credit, reads it again
  in the same session and returns the identity map's stale ``credits``;
- the session keeps its pool connection while the external service sleeps, so more
  concurrent ``process`` calls than pool connections end in pool timeouts (500s);
- a duplicate email is checked with a query before the insert, so two racing
  requests can both pass the check and one of them gets a 500;
- the export loads every user into memory and builds the whole CSV before sending it.

It serves the routes the benchmark needs with the contract's shapes (docs/contract.md)
on the schema a generated project's ``alembic upgrade head`` creates:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \\
    EXTERNAL_SERVICE_DELAY_MS=100 uvicorn --app-dir reference naive_get_db:app

Needs fastapi, sqlalchemy, psycopg and uvicorn. ``DB_POOL_SIZE``, ``DB_MAX_OVERFLOW``
and ``DB_POOL_TIMEOUT`` set the pool as in a generated service (defaults 5, 10, 30).
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, create_engine, func, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


def _url(raw: str) -> str:
    # Like a generated service: a URL that names no driver gets psycopg 3.
    return raw.replace("postgresql://", "postgresql+psycopg://", 1)


DATABASE_URL = _url(os.environ.get("DATABASE_URL", "postgresql://postgres@localhost:5432/app"))
DELAY = int(os.environ.get("EXTERNAL_SERVICE_DELAY_MS", "0")) / 1000

# Created at import time, as in the tutorials.
engine = create_engine(
    DATABASE_URL,
    pool_size=int(os.environ.get("DB_POOL_SIZE", "5")),
    max_overflow=int(os.environ.get("DB_MAX_OVERFLOW", "10")),
    pool_timeout=float(os.environ.get("DB_POOL_TIMEOUT", "30")),
)
SessionLocal = sessionmaker(bind=engine)

# The simulated external service: another service with its own engine and pool that
# waits, then adds a credit in a transaction of its own, one autocommit UPDATE (as a
# generated service's does).
external_engine = create_engine(
    DATABASE_URL, pool_size=5, max_overflow=10, isolation_level="AUTOCOMMIT"
)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(100))
    credits: Mapped[int] = mapped_column(default=0)


class UserCreate(BaseModel):
    email: str
    name: str


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    credits: int


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


Db = Annotated[Session, Depends(get_db)]

app = FastAPI(title="naive get_db (counter-example)")


def add_credit(user_id: int) -> None:
    time.sleep(DELAY)
    with external_engine.connect() as connection:
        connection.execute(update(User).where(User.id == user_id).values(credits=User.credits + 1))


@app.get("/health")
def health(db: Db) -> dict[str, str]:
    db.execute(text("SELECT 1"))
    return {"status": "ok"}


@app.post("/users", status_code=201, response_model=UserRead)
def create_user(data: UserCreate, db: Db) -> User:
    taken = db.scalar(select(User).where(func.lower(User.email) == data.email.lower()))
    if taken is not None:
        raise HTTPException(409, "A user with this email already exists")
    user = User(email=data.email, name=data.name)
    db.add(user)
    db.commit()
    db.refresh(user)
    return user


@app.get("/users", response_model=list[UserRead])
def list_users(
    db: Db,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[User]:
    return list(db.scalars(select(User).order_by(User.id).offset(offset).limit(limit)))


@app.get("/users/export")
def export_users(db: Db) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("id", "email", "name", "credits"))
    for user in db.scalars(select(User).order_by(User.id)).all():
        writer.writerow((user.id, user.email, user.name, user.credits))
    return Response(buffer.getvalue(), media_type="text/csv")


@app.get("/users/{user_id}", response_model=UserRead)
def get_user(user_id: int, db: Db) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise HTTPException(404, "User not found")
    return user


@app.post("/users/{user_id}/process", response_model=UserRead)
def process_user(user_id: int, db: Db) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise HTTPException(404, "User not found")
    add_credit(user_id)  # the session still holds its connection meanwhile
    user = db.get(User, user_id)  # the identity map answers: credits is stale
    assert user is not None
    return user
