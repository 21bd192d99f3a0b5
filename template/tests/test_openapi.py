"""The OpenAPI schema is the truth: every status a route can answer is declared with
its body, request rules mean the same in the schema and on the server, and a method
a path lacks is a 405 that names the methods it has."""

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

ERRORS = {"413", "500", "503"}  # any route: a body too large, a bug, a database down
DECLARED = {
    ("get", "/health"): {"200"} | ERRORS,
    ("post", "/users"): {"201", "409", "422"} | ERRORS,
    ("get", "/users"): {"200", "422"} | ERRORS,
    ("post", "/users/import"): {"200", "422"} | ERRORS,
    ("get", "/users/export"): {"200"} | ERRORS,
    ("get", "/users/{user_id}"): {"200", "404", "422"} | ERRORS,
    ("patch", "/users/{user_id}"): {"200", "404", "409", "422"} | ERRORS,
    ("delete", "/users/{user_id}"): {"204", "404", "422"} | ERRORS,
    ("post", "/users/{user_id}/process"): {"200", "404", "422"} | ERRORS,
    ("post", "/users/{user_id}/welcome"): {"202", "404", "422"} | ERRORS,
    ("get", "/users/{user_id}/emails"): {"200", "404", "422"} | ERRORS,
}


@pytest.fixture
def openapi(client: TestClient) -> dict[str, Any]:
    schema: dict[str, Any] = client.get("/openapi.json").json()
    return schema


def test_every_route_declares_what_it_can_answer(openapi: dict[str, Any]) -> None:
    operations = {
        (method, path): operation
        for path, methods in openapi["paths"].items()
        for method, operation in methods.items()
    }
    assert set(operations) == set(DECLARED)
    for key, operation in operations.items():
        responses = operation["responses"]
        assert set(responses) == DECLARED[key], key
        for status in set(responses) - {"200", "201", "202", "204", "422"}:
            body = responses[status]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ErrorDetail"}, (key, status)


def test_export_declares_csv(openapi: dict[str, Any]) -> None:
    content = openapi["paths"]["/users/export"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["text/csv"]


def test_patch_does_not_declare_null(openapi: dict[str, Any]) -> None:
    update = openapi["components"]["schemas"]["UserUpdate"]
    assert "required" not in update
    for field in update["properties"].values():
        assert field["type"] == "string"
        assert "anyOf" not in field


@pytest.mark.parametrize(
    "email",
    [
        "ann@example.com",
        "a@b",
        "ünïcode@exämple.de",
        "a\u00a0b@x.io",
        "a b@x.io",
        "a@b@c",
        "@x.io",
        "a@",
        "a\t@x.io",
        "a\x7f@x.io",
    ],
)
def test_the_email_pattern_means_what_the_server_does(
    client: TestClient, openapi: dict[str, Any], email: str
) -> None:
    rules = openapi["components"]["schemas"]["UserCreate"]["properties"]["email"]
    schema_says = re.search(rules["pattern"], email) is not None
    response = client.post("/users", json={"email": email, "name": "Ann"})
    assert (response.status_code == 201) == schema_says, response.text


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/users/export", "GET"),
        ("DELETE", "/users/export", "GET"),
        ("OPTIONS", "/users/1", "DELETE, GET, PATCH"),
        ("PUT", "/users/1", "DELETE, GET, PATCH"),
        ("DELETE", "/users", "GET, POST"),
        ("GET", "/users/1/process", "POST"),
        ("POST", "/health", "GET"),
    ],
)
def test_a_missing_method_is_405_naming_the_others(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json() == {"detail": "Method Not Allowed"}
