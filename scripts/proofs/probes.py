"""The probes, one per behaviour; each raises Failure with its reason."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from harness.waits import wait_for

from proofs.behaviours import CONCURRENT_CALLS, DEADLINE, REJECTED, SETTINGS
from proofs.observe import Failure, Server, expect, scrub


def probe_commit(server: Server) -> None:
    server.edges()
    email = server.email("commit")
    response = server.client.post(
        "/users", json={"email": email, "name": "commit"}, headers={"x-proof-row": email}
    )
    expect(response.status_code == 201, f"POST /users answered {response.status_code}")
    edge = [e for e in server.edges() if e["method"] == "POST" and e["path"] == "/users"][-1]
    expect(
        edge.get("row_committed"),
        "the 201 was sent before its row was committed (the commit ran after the response)",
    )
    rejected = server.email("late", REJECTED)
    mark = server.log_mark()
    try:
        status = server.client.post("/users", json={"email": rejected, "name": "late"}).status_code
    except httpx.TransportError:
        status = 0
    server.quiet()
    stored = server.database.scalar("SELECT count(*) FROM users WHERE email = ?", rejected)
    expect(
        status != 0,
        lambda: (
            f"the connection was dropped without a response when the COMMIT failed"
            f"{server.log_error(mark)}"
        ),
    )
    expect(
        status >= 400,
        lambda: (
            f"POST /users answered {status} for a write whose COMMIT failed; "
            f"rows stored: {stored}{server.log_error(mark)}"
        ),
    )
    expect(stored == 0, f"a write whose COMMIT failed left {stored} row(s) behind")
    # The pool hands out its connections in turn: as many writes as it holds connections
    # reach the one the failed COMMIT used.
    capacity = int(SETTINGS["DB_POOL_SIZE"]) + int(SETTINGS["DB_MAX_OVERFLOW"])
    for _ in range(capacity):
        mark = server.log_mark()
        email = server.email("after")
        status = server.client.post("/users", json={"email": email, "name": "after"}).status_code
        if status != 201:
            raise Failure(
                f"after a write failed at COMMIT, a later write answered {status}: the failed "
                f"transaction was left on a pooled connection{server.log_error(mark)}"
            )


def probe_rollback(server: Server) -> None:
    first = server.create_user("taken")
    second = server.create_user("renamed")
    response = server.client.patch(
        f"/users/{second['id']}", json={"name": "changed", "email": first["email"]}
    )
    expect(
        response.status_code == 409,
        f"a PATCH failing on a duplicate email after its flush answered "
        f"{response.status_code}, not 409",
    )
    server.quiet()
    name = server.database.scalar("SELECT name FROM users WHERE id = ?", second["id"])
    expect(name == second["name"], f"the failed PATCH left name={name!r} behind")
    missing = server.client.get("/users/999999")
    expect(missing.status_code == 404, f"an HTTPException(404) became {missing.status_code}")
    after = server.client.get(f"/users/{second['id']}")
    expect(
        after.status_code == 200,
        lambda: f"the request after a failed one answered {after.status_code}{server.log_error()}",
    )


def probe_connections(server: Server) -> None:
    server.quiet()
    server.edges()
    user = server.create_user("conn")
    server.client.get("/health")
    server.client.get(f"/users/{user['id']}")
    server.client.get("/users")
    server.client.get("/users/999999")
    server.client.post("/users", json={"email": user["email"], "name": "again"})
    server.client.get("/users", params={"limit": 0})
    server.client.patch(f"/users/{user['id']}", json={"name": "patched"})
    held = [
        f"{e['method']} {e['path']} → {e['status']}"
        for e in server.edges()
        if e["checked_out"] is None or e["checked_out"] > 0
    ]
    expect(
        not held,
        f"a connection was still checked out when the response was sent: {'; '.join(held[:3])}",
    )
    expect(server.quiet(), "a connection stayed checked out after every response was sent")
    if not server.database.is_sqlite:
        open_transactions = server.database.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%'"
        )
        expect(open_transactions == 0, f"{open_transactions} transaction(s) left open")


def probe_fresh(server: Server) -> None:
    user = server.create_user("fresh")
    response = server.client.post(f"/users/{user['id']}/process")
    expect(response.status_code == 200, f"process answered {response.status_code}")
    stored = server.database.scalar("SELECT credits FROM users WHERE id = ?", user["id"])
    returned = response.json()["credits"]
    expect(
        returned == stored == user["credits"] + 1,
        f"process returned credits={returned} while the database holds {stored} "
        "(the second read came from the session's identity map)",
    )


def probe_background(server: Server) -> None:
    user = server.create_user("welcome")
    server.quiet()
    server.edges()
    mark = server.log_mark()
    response = server.client.post(f"/users/{user['id']}/welcome")
    expect(response.status_code == 202, f"welcome answered {response.status_code}")

    def count() -> int:
        value = server.database.scalar("SELECT count(*) FROM emails WHERE user_id = ?", user["id"])
        return int(value or 0)

    appeared = wait_for(lambda: count() >= 1, DEADLINE)
    expect(
        appeared,
        lambda: f"no welcome email was recorded within {DEADLINE:.0f} s{server.log_error(mark)}",
    )
    server.quiet()
    rows = server.database.rows(
        "SELECT subject, to_address FROM emails WHERE user_id = ?", user["id"]
    )
    expect(len(rows) == 1, f"{len(rows)} welcome emails were recorded, not 1")
    expect(
        rows[0] == (f"Welcome, {user['name']}!", user["email"]),
        f"the email recorded is {rows[0]!r}",
    )
    edge = [e for e in server.edges() if e["path"].endswith("/welcome")][-1]
    expect(
        edge["checked_out"] == 0,
        "the 202 was sent while the request still held a connection",
    )


def probe_pool(server: Server) -> None:
    user = server.create_user("pool")
    mark = server.log_mark()
    barrier = threading.Barrier(CONCURRENT_CALLS)

    def call(_: int) -> int:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            barrier.wait()
            return client.post(f"/users/{user['id']}/process").status_code

    with ThreadPoolExecutor(CONCURRENT_CALLS) as pool:
        started = time.monotonic()
        statuses = list(pool.map(call, range(CONCURRENT_CALLS)))
        server.measured["pool_seconds"] = round(time.monotonic() - started, 2)
    failed = [status for status in statuses if status != 200]
    expect(
        not failed,
        lambda: (
            f"{len(failed)} of {CONCURRENT_CALLS} concurrent process calls failed "
            f"(status {', '.join(map(str, sorted(set(failed))))}){server.log_error(mark)}"
        ),
    )


ASYNC_ERRORS = re.compile(
    r"greenlet_spawn|MissingGreenlet|concurrent operations are not permitted"
    r"|IllegalStateChangeError|is already in progress"
)


def probe_async(server: Server) -> None:
    mark = server.log_mark()
    user = server.create_user("lazy")
    emails = server.client.get(f"/users/{user['id']}/emails")
    expect(
        emails.status_code == 200,
        lambda: f"GET /users/{{id}}/emails answered {emails.status_code}{server.log_error(mark)}",
    )
    ids = []
    for _ in range(12):
        email = server.email("unseen")
        server.database.script(
            [f"INSERT INTO users (email, name, credits) VALUES ('{email}', 'unseen', 0)"]
        )
        ids.append(server.database.scalar("SELECT id FROM users WHERE email = ?", email))
    barrier = threading.Barrier(len(ids))

    def read(user_id: int) -> int:
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            barrier.wait()
            return client.get(f"/users/{user_id}").status_code

    with ThreadPoolExecutor(len(ids)) as pool:
        statuses = list(pool.map(read, ids))
    failed = [status for status in statuses if status != 200]
    expect(
        not failed,
        lambda: f"{len(failed)} of {len(ids)} concurrent reads failed{server.log_error(mark)}",
    )
    logged = [line for line in server.log.read_text().splitlines() if ASYNC_ERRORS.search(line)]
    expect(not logged, f"the server logged: {scrub(logged[0]) if logged else ''}")


def probe_api(server: Server) -> None:
    openapi = server.client.get("/openapi.json").json()
    seen: list[tuple[str, str, int]] = []

    def call(method: str, path: str, template: str, **kwargs: Any) -> httpx.Response:
        response = server.client.request(method, path, **kwargs)
        seen.append((method, template, response.status_code))
        return response

    email = server.email("Case")
    created = call("POST", "/users", "/users", json={"email": email, "name": "case"})
    expect(created.status_code == 201, f"POST /users answered {created.status_code}")
    duplicate = call("POST", "/users", "/users", json={"email": email.lower(), "name": "case"})
    expect(
        duplicate.status_code == 409,
        lambda: (
            f"a duplicate email differing in case answered {duplicate.status_code}, not 409"
            f"{server.log_error()}"
        ),
    )
    server.quiet()
    stored = server.database.scalar(
        "SELECT count(*) FROM users WHERE lower(email) = ?", email.lower()
    )
    expect(stored == 1, f"{stored} users share one email")
    missing = call("GET", "/users/999999", "/users/{user_id}")
    expect(missing.status_code == 404, f"a missing user answered {missing.status_code}")
    limit = call("GET", "/users", "/users", params={"limit": 101})
    expect(limit.status_code == 422, f"limit=101 answered {limit.status_code}")
    wrong = call("POST", "/users", "/users", json={"email": 5, "name": []})
    expect(wrong.status_code == 422, f"a body of the wrong types answered {wrong.status_code}")
    paths = openapi.get("paths", {})
    undeclared = []
    for method, template, status in seen:
        matches = [
            spec
            for path, spec in paths.items()
            if re.fullmatch(
                re.sub(r"\{[^}]+\}", "[^/]+", path), template.replace("{", "").replace("}", "")
            )
            or path.split(":")[0] == template
        ]
        responses = matches[0].get(method.lower(), {}).get("responses", {}) if matches else {}
        if str(status) not in responses:
            undeclared.append(f"{method} {template} → {status}")
    expect(
        not undeclared,
        f"answered with a status /openapi.json does not declare: {'; '.join(undeclared)}",
    )


def probe_import(server: Server) -> None:
    stored = server.create_user("stored")
    good = [server.email("import") for _ in range(3)]
    batch = [
        {"email": good[0], "name": "first"},
        {"email": stored["email"].upper(), "name": "stored already"},
        {"email": good[1], "name": "second"},
        {"email": good[0].upper(), "name": "earlier in the batch"},
        {"email": good[2], "name": "third"},
    ]
    mark = server.log_mark()
    response = server.client.post("/users/import", json=batch)
    server.quiet()
    kept = [
        email
        for email in good
        if server.database.scalar("SELECT count(*) FROM users WHERE email = ?", email)
    ]
    expect(
        response.status_code == 200,
        lambda: (
            f"an import with two taken emails answered {response.status_code}; good rows "
            f"stored: {len(kept)} of 3{server.log_error(mark)}"
        ),
    )
    body = response.json()
    reported = [row.get("index") for row in body.get("rejected", [])]
    expect(kept == good, f"the import stored {len(kept)} of its 3 good rows")
    expect(reported == [1, 3], f"the import reported rows {reported} as taken, not [1, 3]")
    failing = [
        {"email": server.email("before"), "name": "before"},
        {"email": server.email("late", REJECTED), "name": "late"},
        {"email": server.email("after"), "name": "after"},
    ]
    mark = server.log_mark()
    try:
        status = server.client.post("/users/import", json=failing).status_code
    except httpx.TransportError:
        status = 0
    server.quiet()
    left = sum(
        server.database.scalar("SELECT count(*) FROM users WHERE email = ?", row["email"])
        for row in failing
    )
    expect(
        status >= 400,
        lambda: (
            f"an import whose COMMIT failed answered {status}; rows stored: {left}"
            f"{server.log_error(mark)}"
        ),
    )
    expect(left == 0, f"an import whose COMMIT failed left {left} of its rows behind")


#: In the order they run. The import and commit probes run last because a subject that
#: mishandles a failed COMMIT can break every later write, which would blur the other
#: columns.
PROBES: dict[str, Callable[[Server], None]] = {
    "connections": probe_connections,
    "rollback": probe_rollback,
    "fresh": probe_fresh,
    "background": probe_background,
    "async": probe_async,
    "api": probe_api,
    "pool": probe_pool,
    "import": probe_import,
    "commit": probe_commit,
}
