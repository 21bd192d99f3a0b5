"""Contract behaviour 11, bad input: malformed bodies are a short 422 on every
database and store nothing; a body over 1 MiB is a 413; email addresses that differ
in letter case only are one address."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.support import LiveServer, count, create

MIB = 1024 * 1024
MALFORMED: dict[str, bytes] = {
    "not JSON": b'{"email": ',
    "not UTF-8": b'{"email": "\xff\xfe@x.io", "name": "Ann"}',
    "a lone surrogate": b'{"email": "a\\ud800b@x.io", "name": "Ann"}',
    "a surrogate in the name": b'{"email": "a@x.io", "name": "A\\udfffnn"}',
    "NUL in the name": b'{"email": "a@x.io", "name": "A\\u0000nn"}',
    "NUL in the email": b'{"email": "a\\u0000@x.io", "name": "Ann"}',
    "a control character": b'{"email": "a@x.io", "name": "A\\u001bnn"}',
    "wrong types": b'{"email": 5, "name": ["Ann"]}',
    "a list": b'[{"email": "a@x.io", "name": "Ann"}]',
    "a string": b'"a@x.io"',
    "null": b"null",
}


@pytest.fixture
def user_id(shared_server: LiveServer) -> int:
    created: int = create(shared_server.client, "b@x.io", "Bob")["id"]
    return created


def assert_short_422(response_status: int, body: object, size: int) -> None:
    assert response_status == 422
    assert isinstance(body, dict)
    assert set(body) == {"detail"}
    assert size < 2048, f"a {size}-byte answer to a malformed request"


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_create_is_422_and_stores_nothing(
    shared_server: LiveServer, admin: Engine, payload: bytes
) -> None:
    response = shared_server.client.post(
        "/users", content=payload, headers={"Content-Type": "application/json"}
    )
    assert_short_422(response.status_code, response.json(), len(response.content))
    assert count(admin, "users") == 0


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_update_is_422_and_changes_nothing(
    shared_server: LiveServer, user_id: int, payload: bytes
) -> None:
    before = shared_server.client.get(f"/users/{user_id}").json()
    response = shared_server.client.patch(
        f"/users/{user_id}",
        content=payload,
        headers={"Content-Type": "application/json"},
    )
    assert_short_422(response.status_code, response.json(), len(response.content))
    assert shared_server.client.get(f"/users/{user_id}").json() == before


def test_a_long_invalid_field_is_not_echoed(
    shared_server: LiveServer, admin: Engine
) -> None:
    long_name = "x" * (MIB // 2)
    response = shared_server.client.post(
        "/users", json={"email": "a@x.io", "name": long_name}
    )
    assert_short_422(response.status_code, response.json(), len(response.content))
    assert count(admin, "users") == 0


def test_a_body_over_one_mib_is_413(shared_server: LiveServer, admin: Engine) -> None:
    body = {"email": "a@x.io", "name": "Ann", "padding": "x" * MIB}
    response = shared_server.client.post("/users", json=body)
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body over 1 MiB"}
    assert count(admin, "users") == 0


def test_a_chunked_body_over_one_mib_is_413(
    shared_server: LiveServer, admin: Engine
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"email": "a@x.io", "name": "Ann", "padding": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = shared_server.client.post(
        "/users", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body over 1 MiB"}
    assert count(admin, "users") == 0


def test_null_is_not_a_patch_value(shared_server: LiveServer, user_id: int) -> None:
    for field in ("email", "name"):
        response = shared_server.client.patch(f"/users/{user_id}", json={field: None})
        assert response.status_code == 422


def test_email_uniqueness_ignores_case(
    shared_server: LiveServer, admin: Engine
) -> None:
    create(shared_server.client, "ann@x.io")
    again = shared_server.client.post(
        "/users", json={"email": "ANN@X.io", "name": "Ann"}
    )
    assert again.status_code == 409
    other = create(shared_server.client, "bo@x.io", "Bo")
    renamed = shared_server.client.patch(
        f"/users/{other['id']}", json={"email": "Ann@x.IO"}
    )
    assert renamed.status_code == 409
    assert count(admin, "users") == 2
