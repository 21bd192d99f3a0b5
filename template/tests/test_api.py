"""The HTTP API as the contract states it, seen by a client.

These run in-process on an isolated client: whatever they write is rolled back.
"""

import csv
import io

import pytest
from fastapi.testclient import TestClient

from tests.support import create


def test_create_returns_the_user(client: TestClient) -> None:
    user = create(client, "ann@example.com", "Ann")
    assert user == {
        "id": user["id"],
        "email": "ann@example.com",
        "name": "Ann",
        "credits": 0,
    }
    assert client.get(f"/users/{user['id']}").json() == user


def test_a_deleted_users_id_is_never_given_to_another(client: TestClient) -> None:
    deleted = create(client, "ann@example.com", "Ann")
    assert client.delete(f"/users/{deleted['id']}").status_code == 204
    later = create(client, "bob@example.com", "Bob")
    assert later["id"] > deleted["id"]
    assert client.get(f"/users/{deleted['id']}").status_code == 404


def test_duplicate_email_is_409_and_writes_nothing(client: TestClient) -> None:
    create(client, "ann@example.com")
    response = client.post("/users", json={"email": "ann@example.com", "name": "Other"})
    assert response.status_code == 409
    assert set(response.json()) == {"detail"}
    assert [user["name"] for user in client.get("/users").json()] == ["Ann"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "ann@example.com"},
        {"name": "Ann"},
        {"email": "not-an-address", "name": "Ann"},
        {"email": "ann@example.com", "name": ""},
        {"email": "ann@example.com", "name": "x" * 101},
        {"email": "a" * 310 + "@example.com", "name": "Ann"},
    ],
)
def test_invalid_body_is_422(client: TestClient, body: dict[str, str]) -> None:
    response = client.post("/users", json=body)
    assert response.status_code == 422
    assert "detail" in response.json()


def test_list_is_ordered_by_id_and_paginated(client: TestClient) -> None:
    ids = [create(client, f"user{n}@example.com")["id"] for n in range(5)]
    assert [user["id"] for user in client.get("/users").json()] == ids
    page = client.get("/users", params={"offset": 1, "limit": 2}).json()
    assert [user["id"] for user in page] == ids[1:3]


@pytest.mark.parametrize(
    "params", [{"limit": "0"}, {"limit": "101"}, {"offset": "-1"}, {"limit": "x"}]
)
def test_bad_pagination_is_422(client: TestClient, params: dict[str, str]) -> None:
    assert client.get("/users", params=params).status_code == 422


# An id no user has is "User not found"; a path segment that is no id at all matches
# no route.
@pytest.mark.parametrize(
    ("user_id", "detail"),
    [
        ("999999", "User not found"),
        ("0", "User not found"),
        ("99999999999999999999", "User not found"),
        ("-1", "Not Found"),
        ("abc", "Not Found"),
        ("1.5", "Not Found"),
    ],
)
def test_unknown_user_is_404(client: TestClient, user_id: str, detail: str) -> None:
    for method, path in [
        ("GET", f"/users/{user_id}"),
        ("PATCH", f"/users/{user_id}"),
        ("DELETE", f"/users/{user_id}"),
        ("POST", f"/users/{user_id}/process"),
        ("POST", f"/users/{user_id}/welcome"),
        ("GET", f"/users/{user_id}/emails"),
    ]:
        response = client.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json() == {"detail": detail}


def test_patch_changes_only_what_is_given(client: TestClient) -> None:
    user = create(client, "ann@example.com", "Ann")
    response = client.patch(f"/users/{user['id']}", json={"name": "Annie"})
    assert response.status_code == 200
    assert response.json() == {**user, "name": "Annie"}
    response = client.patch(f"/users/{user['id']}", json={"email": "annie@example.com"})
    assert response.json() == {**user, "name": "Annie", "email": "annie@example.com"}
    assert client.get(f"/users/{user['id']}").json() == response.json()


def test_patch_to_a_taken_email_is_409_and_changes_nothing(client: TestClient) -> None:
    create(client, "ann@example.com")
    bob = create(client, "bob@example.com", "Bob")
    response = client.patch(f"/users/{bob['id']}", json={"email": "ann@example.com"})
    assert response.status_code == 409
    assert client.get(f"/users/{bob['id']}").json() == bob


@pytest.mark.parametrize("body", [{"name": None}, {"email": "nope"}, {"name": ""}])
def test_patch_invalid_body_is_422(client: TestClient, body: dict[str, object]) -> None:
    user = create(client, "ann@example.com")
    assert client.patch(f"/users/{user['id']}", json=body).status_code == 422


def test_export_streams_csv_ordered_by_id(client: TestClient) -> None:
    ids = [create(client, f"user{n}@example.com", f"User, {n}")["id"] for n in range(3)]
    response = client.get("/users/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["id", "email", "name", "credits"]
    assert [int(row[0]) for row in rows[1:]] == ids
    assert rows[1] == [str(ids[0]), "user0@example.com", "User, 0", "0"]


def test_export_of_no_users_is_the_header(client: TestClient) -> None:
    response = client.get("/users/export")
    assert response.text.splitlines() == ["id,email,name,credits"]


def test_export_defuses_spreadsheet_formulas(client: TestClient) -> None:
    create(client, "=cmd@x.io", "+SUM(A1)")
    create(client, "-x@x.io", "@ann")
    create(client, "plain@x.io", "Ann = Bea")
    rows = list(csv.reader(io.StringIO(client.get("/users/export").text)))
    cells = [(email, name) for _, email, name, _ in rows[1:]]
    assert cells == [
        ("'=cmd@x.io", "'+SUM(A1)"),
        ("'-x@x.io", "'@ann"),
        ("plain@x.io", "Ann = Bea"),
    ]
