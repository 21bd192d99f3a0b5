"""Checking that a pooled connection is still open without asking the database.

``pool_pre_ping`` sends a query on every checkout: one round trip with psycopg and
three with asyncpg (its ping runs in a transaction of its own), before the request's
first statement. A connection the database has closed (a restart,
``pg_terminate_backend``, an idle timeout) has already been told so: the server's
goodbye and the end of the stream wait on its socket, and asyncpg marks the
connection closed as soon as its event loop reads them. Looking there costs no round
trip. An idle connection has nothing to read otherwise (this service never LISTENs),
so anything readable means the server is gone. A connection found closed makes the
pool open a new one (``DisconnectionError``), and the request never sees it.
"""

import select
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection


def closed_by_server(driver_connection: Any) -> bool:
    is_closed = getattr(driver_connection, "is_closed", None)
    if is_closed is not None:  # asyncpg
        return bool(is_closed())
    fileno = getattr(driver_connection, "fileno", None)
    if fileno is None:  # SQLite: no server to lose
        return False
    readable, _, _ = select.select([fileno()], [], [], 0)
    return bool(readable)


def check_on_checkout(
    dbapi_connection: Any,
    _record: ConnectionPoolEntry,
    proxy: PoolProxiedConnection,
) -> None:
    if closed_by_server(proxy.driver_connection):
        raise DisconnectionError("the database closed this connection")


def install(engine: Engine) -> None:
    event.listen(engine, "checkout", check_on_checkout)
