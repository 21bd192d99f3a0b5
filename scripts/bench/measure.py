"""Serving the services and measuring them, round by round."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from harness.servers import Uvicorn
from harness.servers import serving as uvicorn_serving

from bench.databases import forget_created_users, server_env
from bench.load import Load, Results, export, import_rows, wrk
from bench.routes import IMPORT_ROWS, IMPORTS, PROCESS_ROUTES, SLOW_EXTERNAL_MS, TOGETHER_ROUTES
from bench.services import Service

#: Seconds a server gets to shut down gracefully before it is killed.
SHUTDOWN_GRACE = 15


@contextmanager
def serving(service: Service, delay_ms: int) -> Iterator[Uvicorn]:
    """One uvicorn process of the service, answering ``/health``."""
    options = ["--no-access-log"]
    if service.app_dir:
        options += ["--app-dir", str(service.app_dir)]
    with uvicorn_serving(
        service.python,
        service.app,
        name=service.name,
        cwd=service.cwd,
        env=server_env(service.database_url, delay_ms),
        ready_path="/health",
        grace=SHUTDOWN_GRACE,
        options=options,
    ) as server:
        yield server


def rotated(services: list[Service], round_number: int) -> list[Service]:
    """Each round starts with another service, so none is always measured first."""
    shift = round_number % len(services) if services else 0
    return services[shift:] + services[:shift]


def measure_together(
    services: list[Service], args: argparse.Namespace, scripts: Path, into: Results
) -> None:
    """read, list, create, the export and the import, with every server of ``services``
    up at once.

    Each round loads every service in turn for each route. A slow spell of a shared
    machine then falls on all services of a round, not on whichever was measured during
    it, and the median round of each is compared. The server being loaded opens up to
    pool_size + max_overflow connections and keeps pool_size after its turn (QueuePool
    closes the others as they come back); the caller passes at most
    ``TOGETHER_SERVERS`` of one concurrency at a time, which bounds the total well
    below PostgreSQL's default of 100 connections (see ``bench.routes``).
    """
    # Users created under the previous group's load, the last ones included, go first.
    forget_created_users(services, args.rows)
    with ExitStack() as stack:
        bases: dict[str, str] = {}
        for service in services:
            server = stack.enter_context(serving(service, 0))
            base, pid = server.base_url, server.process.pid
            bases[service.name] = base
            if args.warmup:
                wrk(base, "read", args.clients, args.warmup, args.rows, scripts)
            # Before anything is created, so every service exports the same rows.
            if "export" in service.routes:
                if args.warmup:
                    export(base, pid)
                into.exports[service.name] = export(base, pid)
        # Imports in turn, a service at a time; their users go before the loads begin.
        importing = [service for service in services if "import" in service.routes]
        if importing and args.warmup:
            for service in importing:
                import_rows(bases[service.name], IMPORT_ROWS)
        for _ in range(IMPORTS):
            for service in importing:
                rate = import_rows(bases[service.name], IMPORT_ROWS)
                into.imports.setdefault(service.name, []).append(rate)
        forget_created_users(importing, args.rows)
        for round_number in range(args.rounds):
            for route in TOGETHER_ROUTES:
                for service in rotated(services, round_number):
                    if route in service.routes:
                        load = wrk(
                            bases[service.name],
                            route,
                            args.clients,
                            args.duration,
                            args.rows,
                            scripts,
                        )
                        into.add(service.name, route, load)
                        report_progress(round_number, service, route, load)
                        if route == "create":  # the next one creates the same emails
                            forget_created_users([service], args.rows)


def measure_process(
    services: list[Service], args: argparse.Namespace, scripts: Path, into: Results
) -> None:
    """``process`` at 0 ms and at 100 ms, a server at a time: with the external service's
    own pool, a server under this load opens up to 30 connections, too many to keep every
    server up. The rounds alternate between services, and each round measures a service
    at 0 ms and at 100 ms back to back, so that the ratio of the two, taken per round,
    compares measurements made seconds apart: a shared machine's speed drifts over
    minutes."""
    serves = [service for service in services if PROCESS_ROUTES[0] in service.routes]
    for round_number in range(args.rounds):
        for service in rotated(serves, round_number):
            for route, delay_ms in zip(PROCESS_ROUTES, (0, SLOW_EXTERNAL_MS), strict=True):
                with serving(service, delay_ms) as server:
                    base = server.base_url
                    if args.warmup:
                        wrk(base, "process", args.process_clients, args.warmup, args.rows, scripts)
                    load = wrk(base, route, args.process_clients, args.duration, args.rows, scripts)
                into.add(service.name, route, load)
                report_progress(round_number, service, route, load)


def report_progress(round_number: int, service: Service, route: str, load: Load) -> None:
    print(
        f"  round {round_number + 1}  {service.name:42} {route:14} {load.requests_per_s:8.0f} req/s"
    )
