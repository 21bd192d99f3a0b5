"""Contract behaviour 11, racing writes: one winner, and a clean 4xx for the rest."""

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine

from tests.support import LiveServer, count, create

RACERS = 10


def race(server: LiveServer, method: str, path: str, bodies: list[object]) -> list[int]:
    """Send the requests at once, each on its own connection; their statuses."""
    requests = [(method, path, body) for body in bodies]
    return sorted(send_at_once(server, requests))


def send_at_once(
    server: LiveServer, requests: list[tuple[str, str, object]]
) -> list[int]:
    """Send the requests at once, each on its own connection; their statuses, in
    the order of the requests."""

    def send(method: str, path: str, body: object) -> int:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            return client.request(method, path, json=body).status_code

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, *zip(*requests, strict=True)))


def test_racing_deletes_have_one_winner(
    shared_server: LiveServer, admin: Engine
) -> None:
    user = create(shared_server.client)
    statuses = race(shared_server, "DELETE", f"/users/{user['id']}", [None] * RACERS)
    assert statuses == [204] + [404] * (RACERS - 1)
    assert count(admin, "users") == 0


def test_racing_sign_ups_of_one_address_have_one_winner(
    shared_server: LiveServer, admin: Engine
) -> None:
    bodies: list[object] = [
        {"email": f"{'ANN' if n % 2 else 'ann'}@x.io", "name": f"Ann {n}"}
        for n in range(RACERS)
    ]
    statuses = race(shared_server, "POST", "/users", bodies)
    assert statuses == [201] + [409] * (RACERS - 1)
    assert count(admin, "users") == 1


def test_a_rename_racing_the_delete_of_its_user_is_200_or_404(
    shared_server: LiveServer, admin: Engine
) -> None:
    """A PATCH and a DELETE of one user at once, for one user after another. The
    DELETE wins (204); the PATCH either came first (200) or finds the user gone,
    often after it read the row and before its UPDATE matched nothing (404, never
    a 500). One pair at a time, so the pool never makes them wait in turn."""
    renamed = []
    for n in range(RENAME_ROUNDS):
        user_id = create(shared_server.client, f"r{n}@x.io")["id"]
        patch, delete = send_at_once(
            shared_server,
            [
                ("PATCH", f"/users/{user_id}", {"name": "Renamed"}),
                ("DELETE", f"/users/{user_id}", None),
            ],
        )
        assert delete == 204
        renamed.append(patch)
    assert set(renamed) <= {200, 404}, renamed
    assert count(admin, "users") == 0


RENAME_ROUNDS = 20
