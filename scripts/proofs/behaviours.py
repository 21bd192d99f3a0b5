"""The contract's behaviours the proof matrix probes, and the settings every subject runs with."""

from __future__ import annotations

from dataclasses import dataclass

#: The settings every subject runs with: a small pool that times out quickly and a slow
#: external service, so a connection held across the slow call shows within seconds.
SETTINGS = {
    "DB_POOL_SIZE": "2",
    "DB_MAX_OVERFLOW": "1",
    "DB_POOL_TIMEOUT": "1",
    "EXTERNAL_SERVICE_DELAY_MS": "500",
}
#: Concurrent slow ``process`` calls of behaviour 6: six times the pool's capacity.
CONCURRENT_CALLS = 18
DEADLINE = 5.0
REJECTED = "@rejected-at-commit.test"


@dataclass(frozen=True)
class Behaviour:
    id: str
    contract: str
    title: str
    probe: str


BEHAVIOURS = (
    Behaviour(
        "commit",
        "1",
        "Commit before response",
        "A 201 is sent only once its row is visible to another connection; a write whose "
        "COMMIT fails (a deferred constraint) gets an error status and stores nothing.",
    ),
    Behaviour(
        "rollback",
        "2",
        "Rollback",
        "A PATCH that changes a name and fails on a duplicate email after its flush "
        "answers 409 and changes nothing; a 404 stays a 404; the next request works.",
    ),
    Behaviour(
        "connections",
        "3",
        "No connection left",
        "For 2xx and 4xx responses, the pool has no connection checked out when the "
        "response is sent, and none stays checked out afterwards.",
    ),
    Behaviour(
        "fresh",
        "4",
        "Fresh `process`",
        "`process` returns the credit the external service added through its own "
        "connection while the request was waiting.",
    ),
    Behaviour(
        "background",
        "5",
        "Background after commit, own session",
        "`welcome` answers 202 holding no connection, and exactly one email row with the "
        "right subject and address appears, written by the task.",
    ),
    Behaviour(
        "pool",
        "6",
        "Pool under slow calls",
        f"{CONCURRENT_CALLS} concurrent `process` calls, a pool of 2 + 1 with a 1 s timeout "
        "and a 500 ms external service: every call answers 200.",
    ),
    Behaviour(
        "async",
        "7",
        "Async: no lazy loads, a session per task",
        "Async subjects only: `GET /users/{id}/emails` answers 200, concurrent reads of "
        "rows the app has not loaded all answer 200, and the server log has no implicit "
        "I/O or concurrent-session error.",
    ),
    Behaviour(
        "api",
        "10",
        "API truth",
        "A duplicate email differing only in case is a 409 that stores nothing; bad input "
        "is a 422; a missing user is a 404; every status seen is declared in "
        "`/openapi.json` for its route.",
    ),
    Behaviour(
        "import",
        "14",
        "Partial rollback",
        "`POST /users/import` of five rows, two of them taken (one stored already, one "
        "earlier in the batch, both in other letters): 200, the three good rows stored and "
        "the two reported by index; a batch with a row that fails at COMMIT answers an "
        "error status and stores none of its rows.",
    ),
)
