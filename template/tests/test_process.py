"""Contract behaviour 4: ``process`` returns fresh data, never the identity-mapped
value its first read left behind."""

import pytest

from tests.support import ServerFactory, create


@pytest.mark.parametrize("delay_ms", [0, 200])
def test_process_returns_fresh_credits(serve: ServerFactory, delay_ms: int) -> None:
    with serve(external_service_delay_ms=delay_ms) as server:
        user = create(server.client)
        for expected in (1, 2, 3):
            response = server.client.post(f"/users/{user['id']}/process")
            assert response.status_code == 200
            assert response.json() == {**user, "credits": expected}
        assert server.client.get(f"/users/{user['id']}").json()["credits"] == 3
