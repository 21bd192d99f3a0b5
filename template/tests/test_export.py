"""``GET /users/export`` streams: its memory stays flat as the table grows."""

import csv
import tracemalloc

from sqlalchemy import Engine

from tests.support import LiveServer, add_users

MIB = 1024 * 1024


def export(server: LiveServer) -> tuple[list[str], int]:
    """Stream the export; return its first two lines, its line count and the peak
    memory Python allocated meanwhile (server thread included)."""
    tracemalloc.start()
    try:
        with server.client.stream("GET", "/users/export") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/csv")
            lines = response.iter_lines()
            head = [next(lines), next(lines)]
            total = 2 + sum(1 for _ in lines)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return [*head, str(total)], peak


def test_export_memory_does_not_grow_with_the_table(
    shared_server: LiveServer, admin: Engine
) -> None:
    add_users(admin, 0, 2_000)
    (header, first, small_total), small_peak = export(shared_server)
    add_users(admin, 2_000, 20_000)
    (_, _, big_total), big_peak = export(shared_server)

    assert header == "id,email,name,credits"
    assert next(csv.reader([first]))[1:] == ["u0@x.io", "User 0", "0"]
    assert (int(small_total), int(big_total)) == (2_001, 20_001)
    # Ten times the rows, about the same peak: the export holds a page, not a table.
    assert big_peak < small_peak + 2 * MIB, (small_peak / MIB, big_peak / MIB)
