"""The upper bound of the benchmark: Starlette and asyncpg with nothing in between.

No ORM, no validation, no dependency injection, no error handlers: each route runs
the one query a generated service runs for it on a pool of asyncpg connections and
writes the row as JSON. Generated services are compared with this bound in the same
run (``scripts/benchmark.py``); nobody should serve an API like this.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \\
    uvicorn --app-dir reference raw_asyncpg:app

Needs starlette, asyncpg and uvicorn. ``DB_POOL_SIZE`` sets the pool (default 5).
"""

from __future__ import annotations

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


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    size = int(os.environ.get("DB_POOL_SIZE", "5"))
    dsn = os.environ.get("DATABASE_URL", "postgresql://postgres@localhost:5432/app")
    async with asyncpg.create_pool(dsn, min_size=size, max_size=size) as pool:
        app.state.pool = pool
        yield


def row_json(row: asyncpg.Record | None, status_code: int = 200) -> Response:
    if row is None:
        return JSONResponse({"detail": "User not found"}, status_code=404)
    return Response(json.dumps(dict(row)), status_code, media_type="application/json")


async def health(request: Request) -> Response:
    await request.app.state.pool.fetchval("SELECT 1")
    return JSONResponse({"status": "ok"})


async def get_user(request: Request) -> Response:
    row = await request.app.state.pool.fetchrow(
        f"SELECT {COLUMNS} FROM users WHERE id = $1", request.path_params["user_id"]
    )
    return row_json(row)


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
    ],
    lifespan=lifespan,
)
