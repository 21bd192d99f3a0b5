"""Failing fast while the database is down.

Without this, every request that needs a new connection while the database is
unreachable waits out the connect timeout on its own; a burst of them queues behind
the pool (or the request-session limit) and the last ones answer long after the
first already knew. After a connection attempt fails, the gate refuses new attempts
at once for a short while, then lets the next one try the database again.
"""

import threading
import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Dialect

# Seconds during which a failed attempt stands for the database's state.
COOLDOWN = 2.0


class ConnectGate:
    def __init__(self, cooldown: float = COOLDOWN) -> None:
        self._cooldown = cooldown
        self._closed_until = 0.0
        self._lock = threading.Lock()

    def install(self, engine: Engine) -> None:
        event.listen(engine, "do_connect", self.connect)

    def connect(
        self,
        dialect: Dialect,
        _record: Any,
        cargs: tuple[Any, ...],
        cparams: dict[str, Any],
    ) -> Any:
        with self._lock:
            closed = time.monotonic() < self._closed_until
        if closed:
            raise dialect.loaded_dbapi.OperationalError(
                "the database could not be reached a moment ago"
            )
        try:
            connection = dialect.connect(*cargs, **cparams)
        except Exception:
            with self._lock:
                self._closed_until = time.monotonic() + self._cooldown
            raise
        with self._lock:
            self._closed_until = 0.0
        return connection
