"""Free loopback ports, and waiting on a condition with a deadline (never a fixed sleep)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

LOOPBACK = "127.0.0.1"
#: How often a condition is asked again.
INTERVAL = 0.05


def free_port() -> int:
    """A TCP port of the loopback address that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    """Ask ``condition`` until it holds (True) or ``timeout`` seconds have passed (False).

    An exception of ``condition`` ends the wait with it.
    """
    end = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(INTERVAL)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """``wait_for``, and ``TimeoutError`` naming ``what`` if the condition never held."""
    if not wait_for(condition, timeout):
        raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
