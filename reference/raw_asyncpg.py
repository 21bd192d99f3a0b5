"""The upper bound of the benchmark: Starlette and asyncpg with nothing in between.

No ORM, no validation, no dependency injection, no error handlers: each route runs
the queries a generated service runs for it on a pool of asyncpg connections, outside
any transaction, and writes the row as JSON. ``process`` reads the user, waits
``EXTERNAL_SERVICE_DELAY_MS``, adds a credit through a second pool (the simulated
external service's own, 5 to 15 connections as in a generated service) and reads the
user again. Generated services are compared with this bound in the same run
(``scripts/benchmark.py``); nobody should serve an API like this.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \\
    uvicorn --app-dir reference raw_asyncpg:app

Needs starlette, asyncpg and uvicorn. ``DB_POOL_SIZE`` sets the pool (default 5).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg  # type: ignore[import-untyped]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

COLUMNS = "id, email, name, credits"
SELECT_USER = f"SELECT {COLUMNS} FROM users WHERE id = $1"
DELAY = int(os.environ.get("EXTERNAL_SERVICE_DELAY_MS", "0")) / 1000


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    size = int(os.environ.get("DB_POOL_SIZE", "5"))
    dsn = os.environ.get("DATABASE_URL", "postgresql://postgres@localhost:5432/app")
    async with (
        asyncpg.create_pool(dsn, min_size=size, max_size=size) as pool,
        asyncpg.create_pool(dsn, min_size=5, max_size=15) as external,
    ):
        app.state.pool = pool
        app.state.external = external
        yield


def row_json(row: asyncpg.Record | None, status_code: int = 200) -> Response:
    if row is None:
        return JSONResponse({"detail": "User not found"}, status_code=404)
    return Response(json.dumps(dict(row)), status_code, media_type="application/json")


async def health(request: Request) -> Response:
    await request.app.state.pool.fetchval("SELECT 1")
    return JSONResponse({"status": "ok"})


async def get_user(request: Request) -> Response:
    row = await request.app.state.pool.fetchrow(SELECT_USER, request.path_params["user_id"])
    return row_json(row)


async def process_user(request: Request) -> Response:
    user_id, pool = request.path_params["user_id"], request.app.state.pool
    if await pool.fetchrow(SELECT_USER, user_id) is None:
        return row_json(None)
    await asyncio.sleep(DELAY)
    await request.app.state.external.execute(
        "UPDATE users SET credits = credits + 1 WHERE id = $1", user_id
    )
    return row_json(await pool.fetchrow(SELECT_USER, user_id))


async def list_users(request: Request) -> Response:
    offset = int(request.query_params.get("offset", 0))
    limit = int(request.query_params.get("limit", 50))
    rows = await request.app.state.pool.fetch(
        f"SELECT {COLUMNS} FROM users ORDER BY id LIMIT $1 OFFSET $2", limit, offset
    )
    return Response(json.dumps([dict(row) for row in rows]), media_type="application/json")


async def create_user(request: Request) -> Response:
    body = await request.json()
    row = await request.app.state.pool.fetchrow(
        f"INSERT INTO users (email, name) VALUES ($1, $2) RETURNING {COLUMNS}",
        body["email"],
        body["name"],
    )
    return row_json(row, 201)


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/users", list_users, methods=["GET"]),
        Route("/users", create_user, methods=["POST"]),
        Route("/users/{user_id:int}", get_user),
        Route("/users/{user_id:int}/process", process_user, methods=["POST"]),
    ],
    lifespan=lifespan,
)
