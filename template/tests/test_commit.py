"""Contract behaviours 1 and 2: what the client is told matches what is stored.

These use a real server (one per module): an in-process client would re-raise server
errors, and with a dependency that commits after the response it would still report
the 2xx the real client gets while the commit fails behind it.
"""

import pytest
from fastapi import HTTPException
from sqlalchemy import Engine, text

from tests.support import LiveServer, count, create, flush_raises


def names(admin: Engine) -> list[str]:
    with admin.connect() as connection:
        return list(connection.scalars(text("SELECT name FROM users ORDER BY id")))


def assert_clean_error(body: object) -> None:
    assert isinstance(body, dict)
    assert set(body) == {"detail"}
    leaked = str(body).lower()
    for word in ("traceback", "insert", "update", "sqlalchemy", "constraint"):
        assert word not in leaked, f"response leaks {word!r}: {body}"


def test_created_means_committed(shared_server: LiveServer, admin: Engine) -> None:
    create(shared_server.client)
    # Checked straight after the response, from another connection.
    assert names(admin) == ["Ann"]


@pytest.mark.parametrize("write", ["create", "update"])
def test_commit_failure_is_reported_and_leaves_nothing(
    rejected_at_commit: str, shared_server: LiveServer, admin: Engine, write: str
) -> None:
    # rejected_at_commit comes first: it is removed once the server has finished
    # this test's requests.
    if write == "create":
        response = shared_server.client.post(
            "/users", json={"email": "ann" + rejected_at_commit, "name": "Ann"}
        )
        expected: list[str] = []
    else:
        user = create(shared_server.client)
        response = shared_server.client.patch(
            f"/users/{user['id']}",
            json={"email": "ann" + rejected_at_commit, "name": "Changed"},
        )
        expected = ["Ann"]
    assert response.status_code >= 400, "the client was told a failed write succeeded"
    assert_clean_error(response.json())
    assert names(admin) == expected


def test_exception_after_flush_rolls_everything_back(
    shared_server: LiveServer, admin: Engine
) -> None:
    with flush_raises(RuntimeError("boom after the INSERT")):
        response = shared_server.client.post(
            "/users", json={"email": "a@x.io", "name": "A"}
        )
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert count(admin, "users") == 0


def test_http_exception_after_flush_keeps_its_status(
    shared_server: LiveServer, admin: Engine
) -> None:
    user = create(shared_server.client)
    with flush_raises(HTTPException(status_code=418, detail="refused")):
        response = shared_server.client.patch(
            f"/users/{user['id']}", json={"name": "Bea"}
        )
    assert response.status_code == 418
    assert response.json() == {"detail": "refused"}
    assert names(admin) == ["Ann"]
