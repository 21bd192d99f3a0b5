"""Contract behaviour 11, racing writes: one winner, and a clean 4xx for the rest."""

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine

from tests.support import LiveServer, count, create

RACERS = 10


def race(server: LiveServer, method: str, path: str, bodies: list[object]) -> list[int]:
    """Send the requests at once, each on its own connection; their statuses."""

    def send(body: object) -> int:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            return client.request(method, path, json=body).status_code

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return sorted(pool.map(send, bodies))


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
