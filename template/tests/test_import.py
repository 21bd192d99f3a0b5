"""Contract behaviour 14, partial rollback: ``POST /users/import`` keeps every good row
and rolls each conflicting row back to its own savepoint; a failure at COMMIT keeps
nothing; nothing stays open; memory stays flat however many rows there are.

A real server (one per module): what counts is what the client is told and what is
stored afterwards, seen from another connection.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from tests.support import LiveServer, assert_connections_released, count, create

TAKEN = "A user with this email already exists"


def row(email: str) -> dict[str, str]:
    return {"email": email, "name": email.split("@")[0]}


def stored_emails(admin: Engine) -> list[str]:
    with admin.connect() as connection:
        return list(connection.scalars(text("SELECT email FROM users ORDER BY id")))


def test_conflicting_rows_are_rolled_back_and_the_rest_kept(
    shared_server: LiveServer, admin: Engine
) -> None:
    create(shared_server.client, "stored@x.io")
    batch = [
        row("ann@x.io"),
        row("STORED@x.io"),  # stored already, in other letters
        row("bea@x.io"),
        row("Ann@X.io"),  # earlier in this batch, in other letters
        row("cid@x.io"),
        row("bea@x.io"),  # earlier in this batch, as it was
    ]
    response = shared_server.client.post("/users/import", json=batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [user["email"] for user in body["created"]] == [
        "ann@x.io",
        "bea@x.io",
        "cid@x.io",
    ]
    assert body["rejected"] == [
        {"index": index, "email": batch[index]["email"], "detail": TAKEN}
        for index in (1, 3, 5)
    ]
    assert stored_emails(admin) == ["stored@x.io", "ann@x.io", "bea@x.io", "cid@x.io"]
    for user in body["created"]:
        assert shared_server.client.get(f"/users/{user['id']}").json() == user
    assert_connections_released(shared_server, admin)


def test_a_failure_at_commit_keeps_nothing(
    rejected_at_commit: str, shared_server: LiveServer, admin: Engine
) -> None:
    batch = [row("ann@x.io"), row("bea" + rejected_at_commit), row("cid@x.io")]
    response = shared_server.client.post("/users/import", json=batch)
    assert response.status_code >= 500, "the client was told a failed import succeeded"
    assert set(response.json()) == {"detail"}
    assert count(admin, "users") == 0
    assert_connections_released(shared_server, admin)


@pytest.mark.parametrize(
    "body",
    [
        [],
        [row("ann@x.io"), {"email": "not-an-address", "name": "Bea"}],
        [row("ann@x.io"), {"email": "bea@x.io"}],
        [row(f"u{n}@x.io") for n in range(1001)],
        row("ann@x.io"),
    ],
    ids=["empty", "bad-email", "missing-name", "1001-rows", "not-a-list"],
)
def test_a_malformed_import_is_422_and_stores_nothing(
    shared_server: LiveServer, admin: Engine, body: object
) -> None:
    response = shared_server.client.post("/users/import", json=body)
    assert response.status_code == 422, response.text
    assert count(admin, "users") == 0


@contextmanager
def largest_identity_map() -> Iterator[list[int]]:
    """Inside the block, the largest number of objects any of the app's sessions held
    in its identity map, seen at each statement and flush."""
    largest = [0]

    def seen(session: Session) -> None:
        largest[0] = max(largest[0], len(session.identity_map))

    def on_execute(state: Any) -> None:
        seen(state.session)

    def on_flush(session: Session, _context: object) -> None:
        seen(session)

    event.listen(Session, "do_orm_execute", on_execute)
    event.listen(Session, "after_flush", on_flush)
    try:
        yield largest
    finally:
        event.remove(Session, "do_orm_execute", on_execute)
        event.remove(Session, "after_flush", on_flush)


def test_a_thousand_rows_in_one_request_keep_the_session_small(
    shared_server: LiveServer, admin: Engine
) -> None:
    batch = [row(f"u{n}@x.io") for n in range(1000)]
    with largest_identity_map() as largest:
        response = shared_server.client.post("/users/import", json=batch)
    assert response.status_code == 200, response.text
    assert len(response.json()["created"]) == 1000
    assert count(admin, "users") == 1000
    # One row's object at a time at most: nothing accumulates over the rows.
    assert largest[0] <= 1
    assert_connections_released(shared_server, admin)
