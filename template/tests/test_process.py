"""Contract behaviour 4: ``process`` returns fresh data, never the identity-mapped
value its first read left behind."""

import pytest

from tests.support import ServerFactory


@pytest.mark.parametrize("delay_ms", [0, 200])
def test_process_returns_fresh_credits(serve: ServerFactory, delay_ms: int) -> None:
    with serve(external_service_delay_ms=delay_ms) as server:
        user = server.client.post("/users", json={"email": "a@x.io", "name": "Ann"})
        user_id = user.json()["id"]
        for expected in (1, 2, 3):
            response = server.client.post(f"/users/{user_id}/process")
            assert response.status_code == 200
            assert response.json() == {**user.json(), "credits": expected}
        assert server.client.get(f"/users/{user_id}").json()["credits"] == 3
