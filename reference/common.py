"""What the reference apps share, so that only their session handling differs.

COUNTER-EXAMPLES. The modules next to this one rebuild, as small apps, the session
patterns the seed texts recommend and the template does *not* offer. They exist to be
measured by ``scripts/proof_matrix.py``; do not copy them into a service.

Everything that is not session handling is the same for all of them and as close to a
generated service as a few lines allow: the generated schema (the apps never create
tables; the proof matrix migrates the database with the template's Alembic scripts),
the same settings from the environment, an external service that adds a credit through
its own engine after ``EXTERNAL_SERVICE_DELAY_MS``, SQLite with foreign keys on, and
the routes of the contract. Each app stores its engine in ``app.state.engine`` so the
proof matrix can read the pool's checked-out count.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import DateTime, Engine, ForeignKey, String, create_engine, event, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.pool import NullPool

SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def setting(name: str, default: str) -> str:
    return os.environ.get(name, default)


def database_url(drivers: dict[str, str]) -> URL:
    url = make_url(setting("DATABASE_URL", "sqlite:///./example_service.db"))
    return url.set(drivername=drivers.get(url.drivername, url.drivername))


def pool_options() -> dict[str, Any]:
    return {
        "pool_size": int(setting("DB_POOL_SIZE", "5")),
        "max_overflow": int(setting("DB_MAX_OVERFLOW", "10")),
        "pool_timeout": float(setting("DB_POOL_TIMEOUT", "30")),
    }


def enable_sqlite_foreign_keys(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    credits: Mapped[int] = mapped_column(default=0)
    # The ORM default: a lazy "select" load on first access.
    emails: Mapped[list[Email]] = relationship(back_populates="user")


class Email(Base):
    __tablename__ = "emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC)
    )
    user: Mapped[User] = relationship(back_populates="emails")


class UserIn(BaseModel):
    email: str
    name: str


class UserPatch(BaseModel):
    email: str | None = None
    name: str | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    credits: int


class EmailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    to_address: str
    subject: str
    created_at: datetime


class ExternalService:
    """Waits, then adds a credit in its own transaction on its own engine."""

    def __init__(self) -> None:
        self.engine = create_engine(database_url(SYNC_DRIVERS), poolclass=NullPool)
        self.delay = int(setting("EXTERNAL_SERVICE_DELAY_MS", "0")) / 1000

    def add_credit(self, user_id: int) -> None:
        time.sleep(self.delay)
        with self.engine.begin() as connection:
            connection.execute(
                update(User).where(User.id == user_id).values(credits=User.credits + 1)
            )


def welcome_subject(user: User) -> str:
    return f"Welcome, {user.name}!"
