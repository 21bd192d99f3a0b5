"""The proof matrix's window into a running subject: an ASGI wrapper around its app.

    PROOF_TARGET=example_service.main:app uvicorn proof_shim:app

Runs inside the subject's server process and changes nothing the subject does. It
records, at the moment each response's last body chunk is handed to the server (the
response's *edge*), how many connections the subject's pool has checked out and, when
the request asked for it with the ``x-proof-row`` header (an email), whether a users
row with that email is visible to a separate connection, i.e. committed. It serves
those records at ``GET /_proof/edges`` and the pool's current count at
``GET /_proof/pool``; every other request goes to the subject untouched.

On SQLite it also switches foreign keys on for every connection of the subject's
engine, as the template's services do, so that a deferred constraint fails at COMMIT
in every subject alike (the seed texts' engines leave them off).
"""

from __future__ import annotations

import importlib
import json
import os
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url

Scope = dict[str, Any]
Message = dict[str, Any]

_module_name, _, _attribute = os.environ["PROOF_TARGET"].partition(":")
_module = importlib.import_module(_module_name)
target: Any = getattr(_module, _attribute)
edges: list[dict[str, Any]] = []
_engine_hooked = False


def _engine() -> Any:
    """The subject's engine: ``app.state.engine``, or the module's ``engine``."""
    engine = getattr(getattr(target, "state", None), "engine", None)
    if engine is None:
        engine = getattr(_module, "engine", None) or getattr(_module, "async_engine", None)
    return getattr(engine, "sync_engine", engine)


def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _hook_engine() -> None:
    global _engine_hooked
    engine = _engine()
    if _engine_hooked or engine is None:
        return
    _engine_hooked = True
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _foreign_keys_on)


def checked_out() -> int | None:
    engine = _engine()
    pool = getattr(engine, "pool", None)
    counter = getattr(pool, "checkedout", None)
    return int(counter()) if counter is not None else None


def row_committed(email: str) -> bool:
    """Whether another connection sees a users row with this email."""
    url = make_url(os.environ["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        lite = sqlite3.connect(str(url.database), timeout=5)
        try:
            row = lite.execute("SELECT 1 FROM users WHERE email = ?", (email,)).fetchone()
        finally:
            lite.close()
        return row is not None
    import psycopg

    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM users WHERE email = %s", (email,)).fetchone()
    return found is not None


async def _json(send: Any, status: int, body: Any) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def app(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        await target(scope, receive, send)
        return
    _hook_engine()
    path = scope["path"]
    if path == "/_proof/edges":
        await _json(send, 200, edges)
        edges.clear()
        return
    if path == "/_proof/pool":
        await _json(send, 200, {"checked_out": checked_out()})
        return
    headers = dict(scope.get("headers") or [])
    watched = headers.get(b"x-proof-row", b"").decode() or None
    status = 0

    async def edge_send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            record: dict[str, Any] = {
                "method": scope["method"],
                "path": path,
                "status": status,
                "checked_out": checked_out(),
            }
            if watched is not None:
                record["row_committed"] = row_committed(watched)
            edges.append(record)
        await send(message)

    await target(scope, receive, edge_send)
