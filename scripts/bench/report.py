"""The benchmark's tables and ratios, as Markdown."""

from __future__ import annotations

import argparse

from bench.load import Results
from bench.routes import (
    MAX_OVERFLOW,
    POOL_SIZE,
    PROCESS_ROUTES,
    ROUTES,
    SLOW_EXTERNAL_MS,
    TOGETHER_SERVERS,
)
from bench.services import BARE_ASYNC, BARE_SYNC, Service


def ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}"


def process_ratio(service: Service, results: Results, clients: int) -> float | None:
    """process 100ms / min(limit, process 0ms) of one service: the median (the lower one
    of an even count) of the rounds' own ratios, each round measuring the two back to back."""
    limit = service.process_limit(clients)
    rounds = zip(
        results.rates(service.name, PROCESS_ROUTES[1]),
        results.rates(service.name, PROCESS_ROUTES[0]),
        strict=True,
    )
    ratios = sorted(slow / min(limit, zero or limit) for slow, zero in rounds)
    return ratios[(len(ratios) - 1) // 2] if ratios else None


def report(
    services: list[Service], results: Results, args: argparse.Namespace, machine: dict[str, str]
) -> list[str]:
    """The tables, as Markdown lines (printed as they are)."""
    lines = [
        "## Load",
        "",
        f"The round with the median rate of {args.rounds}; min and max are the other rounds' "
        "rates, errors are summed over all rounds.",
        "",
        "| service | route | req/s | min | max | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for service in services:
        for route in ROUTES:
            if (found := results.median(service.name, route)) is not None:
                low, high = results.spread(service.name, route)
                lines.append(
                    f"| {service.name} | {route} | {found.requests_per_s:.0f} | {low:.0f} "
                    f"| {high:.0f} | {found.p50_ms:.1f} | {found.p99_ms:.1f} | {found.errors} |"
                )
    lines += ["", f"## Export of {args.rows} users", ""]
    lines += [
        "| service | rows | seconds | rows/s | peak RSS growth MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for service in services:
        if (done := results.exports.get(service.name)) is not None:
            lines.append(
                f"| {service.name} | {done.rows} | {done.seconds:.2f} | "
                f"{done.rows / done.seconds:.0f} | {done.rss_growth_mb:.1f} |"
            )

    def rate(name: str, route: str) -> float | None:
        found = results.median(name, route)
        return found.requests_per_s if found else None

    by_name = {service.name: service for service in services}

    def slow_ratio(service: Service) -> str:
        found = process_ratio(service, results, args.process_clients)
        return "-" if found is None else f"{found:.2f}"

    lines += [
        "",
        "## Ratios",
        "",
        "Issue 10's targets, for reference: read / raw >= 0.40 (async); read / naive >= 1.3 "
        "(sync); process 0ms / read >= 0.25; process 100ms / min(limit, process 0ms) >= 0.80 "
        "with 0 errors; dependency_commit read / the other patterns' >= 0.80; export >= 50000 "
        "rows/s with < 50 MB growth. The limit is the requests/s that the calls which can wait "
        "on the external service at once allow (clients, sync threads, request sessions); "
        "the process 100ms ratio is the median of the rounds' own ratios, each round "
        "measuring 0 ms and 100 ms back to back. "
        "The bare ORM column compares with reference/bare_orm.py of the same concurrency: "
        "a session, Session.get and nothing else.",
        "",
        "| variant | read / raw | read / naive | read / bare ORM | process 0ms / read "
        "| process 100ms limit | process 100ms / min(limit, 0ms) | read / other patterns |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    variants_run = [service for service in services if service.is_variant]
    for service in variants_run:
        read = rate(service.name, "read")
        bare = BARE_ASYNC if service.concurrency == "async" else BARE_SYNC
        others = [
            value
            for other in variants_run
            if other.pattern != service.pattern
            and other.concurrency == service.concurrency
            and (value := rate(other.name, "read")) is not None
        ]
        mean_others = sum(others) / len(others) if others else None
        lines.append(
            f"| {service.name} | {ratio(read, rate('raw asyncpg', 'read'))} "
            f"| {ratio(read, rate('naive get_db', 'read'))} | {ratio(read, rate(bare, 'read'))} "
            f"| {ratio(rate(service.name, 'process 0ms'), read)} "
            f"| {service.process_limit(args.process_clients):.0f} "
            f"| {slow_ratio(service)} "
            f"| {ratio(read, mean_others)} |"
        )
    raw_read, naive_read = rate("raw asyncpg", "read"), rate("naive get_db", "read")
    if raw_read and naive_read:
        lines += [
            "",
            "What the ORM alone allows, on this machine and in this run: bare ORM async read / "
            f"raw = {ratio(rate(BARE_ASYNC, 'read'), raw_read)}; bare ORM sync read / naive = "
            f"{ratio(rate(BARE_SYNC, 'read'), naive_read)}. A variant reads through the same "
            "Session.get, so its read / raw and read / naive stay near or below these.",
        ]
    ceilings = [
        f"{name} {slow_ratio(by_name[name])}"
        for name in ("raw asyncpg", BARE_ASYNC, BARE_SYNC)
        if name in by_name and rate(name, PROCESS_ROUTES[1])
    ]
    if ceilings:
        lines += [
            "",
            f"What the stack allows for process {SLOW_EXTERNAL_MS}ms / min(limit, 0ms), on this "
            f"machine and in this run: {'; '.join(ceilings)}. They make the same calls as a "
            "variant (a read, the wait, the external service's UPDATE on its own pool, a "
            "second read) with nothing else; raw asyncpg also without transactions around "
            "its reads.",
        ]
    naive_slow = rate("naive get_db", PROCESS_ROUTES[1])
    if naive_slow:
        naive = by_name["naive get_db"]
        lines += [
            "",
            f"naive get_db: process {SLOW_EXTERNAL_MS}ms / min(limit "
            f"{naive.process_limit(args.process_clients):.0f}, 0ms) = "
            f"{slow_ratio(naive)} "
            "(its process returns stale credits; see reference/naive_get_db.py). A rate of 0 "
            "with no errors means no request completed within the run: a request that holds a "
            "connection needs a worker thread to validate its response, and every thread is "
            "taken by a request waiting for a connection, until the 30 s pool timeout.",
        ]
    lines += [
        "",
        "## Setup",
        "",
        f"- {args.clients} connections for read, list and create; {args.process_clients} for "
        f"process (pool {POOL_SIZE} + overflow {MAX_OVERFLOW}); rounds: {args.rounds} of "
        f"{args.duration:g} s per service and route, wrk with one thread; one uvicorn process "
        "per service (uvloop, httptools); read, list and create with the servers of one "
        "concurrency up together (async with raw asyncpg, sync with naive get_db; at most "
        f"{TOGETHER_SERVERS} at once) and the services taking turns, process one server at "
        "a time (0 ms, then 100 ms)",
        *(f"- {key}: {value}" for key, value in machine.items()),
    ]
    return lines
