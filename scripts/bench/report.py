"""The benchmark's tables and ratios, as Markdown."""

from __future__ import annotations

import argparse
import statistics

from bench.load import Results
from bench.routes import (
    IMPORT_ROWS,
    IMPORTS,
    MAX_OVERFLOW,
    POOL_SIZE,
    PROCESS_ROUTES,
    ROUTES,
    SLOW_EXTERNAL_MS,
    TOGETHER_SERVERS,
)
from bench.services import BARE_ASYNC, BARE_SYNC, DOCS_APP, NAIVE, RAW, Service


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
    run = Run(services, results, args)
    return [
        *load_table(run),
        *export_table(run),
        *import_table(run),
        *targets_table(run),
        *other_ratios(run),
        *setup(run, machine),
    ]


class Run:
    """One run's services and measurements, and the figures the tables take from them."""

    def __init__(self, services: list[Service], results: Results, args: argparse.Namespace) -> None:
        self.services, self.results, self.args = services, results, args
        self.by_name = {service.name: service for service in services}
        self.variants = [service for service in services if service.is_variant]

    def rate(self, name: str, route: str) -> float | None:
        found = self.results.median(name, route)
        return found.requests_per_s if found else None

    def slow_ratio(self, service: Service) -> str:
        found = process_ratio(service, self.results, self.args.process_clients)
        return "-" if found is None else f"{found:.2f}"


def load_table(run: Run) -> list[str]:
    lines = [
        "## Load",
        "",
        f"The round with the median rate of {run.args.rounds}; min and max are the other "
        "rounds' rates, errors are summed over all rounds.",
        "",
        "| service | route | req/s | min | max | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for service in run.services:
        for route in ROUTES:
            if (found := run.results.median(service.name, route)) is not None:
                low, high = run.results.spread(service.name, route)
                lines.append(
                    f"| {service.name} | {route} | {found.requests_per_s:.0f} | {low:.0f} "
                    f"| {high:.0f} | {found.p50_ms:.1f} | {found.p99_ms:.1f} | {found.errors} |"
                )
    return lines


def export_table(run: Run) -> list[str]:
    lines = [
        "",
        f"## Export of {run.args.rows} users",
        "",
        "| service | rows | seconds | rows/s | peak RSS growth MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for service in run.services:
        if (done := run.results.exports.get(service.name)) is not None:
            lines.append(
                f"| {service.name} | {done.rows} | {done.seconds:.2f} | "
                f"{done.rows / done.seconds:.0f} | {done.rss_growth_mb:.1f} |"
            )
    return lines


def import_table(run: Run) -> list[str]:
    """Rows per second of a POST /users/import, against the plain batch insert of the
    same concurrency (the bare ORM app: one executemany INSERT, no savepoints)."""
    bare = {BARE_ASYNC: "async", BARE_SYNC: "sync"}
    batch = {
        concurrency: statistics.median(run.results.imports[name])
        for name, concurrency in bare.items()
        if name in run.results.imports
    }
    lines = [
        "",
        f"## Import of {IMPORT_ROWS} users",
        "",
        f"`POST /users/import` of {IMPORT_ROWS} new users, the median of {IMPORTS} "
        "requests. The variants insert each row in a savepoint of its own; the bare ORM "
        "apps in one executemany INSERT (the plain batch insert). Savepoint cost: the "
        "batch insert's rate over the variant's, for the same concurrency.",
        "",
        "| service | rows/s | savepoint cost |",
        "|---|---:|---:|",
    ]
    for service in run.services:
        if rates := run.results.imports.get(service.name):
            rate = statistics.median(rates)
            plain = batch.get(service.concurrency) if service.is_variant else None
            cost = "-" if plain is None else f"{plain / rate:.1f}x"
            lines.append(f"| {service.name} | {rate:.0f} | {cost} |")
    return lines


def targets_table(run: Run) -> list[str]:
    """Issue 19's ratios: each variant against the yardstick of its concurrency."""
    raw_read, naive_read, docs_read = (run.rate(name, "read") for name in (RAW, NAIVE, DOCS_APP))
    lines = [
        "",
        "## Issue 19's targets",
        "",
        f"Targets: async read / {DOCS_APP} >= 0.95; sync read / {NAIVE} >= 1.3; "
        f"process {SLOW_EXTERNAL_MS}ms / min(limit, process 0ms) >= 0.80; 0 errors. "
        f"{DOCS_APP} is reference/docs_app.py, the async read of the FastAPI and SQLAlchemy "
        "docs (pool_pre_ping=True, a yield dependency, session.get, a response model); "
        f"{NAIVE} is reference/naive_get_db.py. Each yardstick applies to its concurrency "
        "only. The limit is the requests/s that the calls which can wait on the external "
        "service at once allow (clients, sync threads, request sessions); the ratio is the "
        "median of the rounds' own ratios, each round measuring 0 ms and "
        f"{SLOW_EXTERNAL_MS} ms back to back. Errors are every route's, over all rounds. "
        f"read / {RAW} is the bound, for reference.",
        "",
        f"| variant | read req/s | read / {DOCS_APP} | read / {NAIVE} "
        f"| process {SLOW_EXTERNAL_MS}ms / min(limit, 0ms) | errors | read / {RAW} |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for service in run.variants:
        read = run.rate(service.name, "read")
        is_async = service.concurrency == "async"
        lines.append(
            f"| {service.name} | {read or 0:.0f} "
            f"| {ratio(read, docs_read) if is_async else '-'} "
            f"| {'-' if is_async else ratio(read, naive_read)} "
            f"| {run.slow_ratio(service)} | {run.results.errors(service.name)} "
            f"| {ratio(read, raw_read)} |"
        )
    yardsticks = [
        f"{name} {found:.0f} req/s ({run.results.errors(name)} errors)"
        for name in (DOCS_APP, NAIVE, RAW)
        if (found := run.rate(name, "read"))
    ]
    if yardsticks:
        lines += [
            "",
            f"Reads of the yardsticks and the bound in this run: {'; '.join(yardsticks)}.",
        ]
    return lines


def other_ratios(run: Run) -> list[str]:
    """Issue 10's other ratios, and what the ORM and the stack allow in this run."""
    lines = [
        "",
        "## Other ratios",
        "",
        "Issue 10's other targets, for reference: process 0ms / read >= 0.25; "
        "dependency_commit read / the other patterns' >= 0.80 (of its concurrency); export "
        ">= 50000 rows/s with < 50 MB growth; async read / raw >= 0.40 (see what the ORM "
        "alone allows, below). The bare ORM column compares with reference/bare_orm.py of "
        "the same concurrency: a session, Session.get and nothing else.",
        "",
        "| variant | read / bare ORM | process 0ms / read | process 100ms limit "
        "| read / other patterns |",
        "|---|---:|---:|---:|---:|",
    ]
    for service in run.variants:
        read = run.rate(service.name, "read")
        bare = BARE_ASYNC if service.concurrency == "async" else BARE_SYNC
        others = [
            value
            for other in run.variants
            if other.pattern != service.pattern
            and other.concurrency == service.concurrency
            and (value := run.rate(other.name, "read")) is not None
        ]
        mean_others = sum(others) / len(others) if others else None
        lines.append(
            f"| {service.name} | {ratio(read, run.rate(bare, 'read'))} "
            f"| {ratio(run.rate(service.name, 'process 0ms'), read)} "
            f"| {service.process_limit(run.args.process_clients):.0f} "
            f"| {ratio(read, mean_others)} |"
        )
    raw_read, naive_read = run.rate(RAW, "read"), run.rate(NAIVE, "read")
    if raw_read and naive_read:
        lines += [
            "",
            "What the ORM alone allows, on this machine and in this run: bare ORM async read / "
            f"raw = {ratio(run.rate(BARE_ASYNC, 'read'), raw_read)}; {DOCS_APP} read / raw = "
            f"{ratio(run.rate(DOCS_APP, 'read'), raw_read)}; bare ORM sync read / naive = "
            f"{ratio(run.rate(BARE_SYNC, 'read'), naive_read)}. A variant reads through the "
            "same Session.get, so its read / raw and read / naive stay near or below these.",
        ]
    ceilings = [
        f"{name} {run.slow_ratio(run.by_name[name])}"
        for name in (RAW, BARE_ASYNC, BARE_SYNC)
        if name in run.by_name and run.rate(name, PROCESS_ROUTES[1])
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
    if run.rate(NAIVE, PROCESS_ROUTES[1]) is not None:
        naive = run.by_name[NAIVE]
        lines += [
            "",
            f"{NAIVE}: process {SLOW_EXTERNAL_MS}ms / min(limit "
            f"{naive.process_limit(run.args.process_clients):.0f}, 0ms) = "
            f"{run.slow_ratio(naive)} "
            "(its process returns stale credits; see reference/naive_get_db.py). A rate of 0 "
            "with no errors means no request completed within the run: a request that holds a "
            "connection needs a worker thread to validate its response, and every thread is "
            "taken by a request waiting for a connection, until the 30 s pool timeout.",
        ]
    return lines


def setup(run: Run, machine: dict[str, str]) -> list[str]:
    args = run.args
    return [
        "",
        "## Setup",
        "",
        f"- {args.clients} connections for read, list and create; {args.process_clients} for "
        f"process (pool {POOL_SIZE} + overflow {MAX_OVERFLOW}); rounds: {args.rounds} of "
        f"{args.duration:g} s per service and route, wrk with one thread; one uvicorn process "
        "per service (uvloop, httptools); read, list and create with the servers of one "
        f"concurrency up together (async with {RAW} and {DOCS_APP}, sync with {NAIVE}; at "
        f"most {TOGETHER_SERVERS} at once) and the services taking turns, process one server "
        f"at a time (0 ms, then {SLOW_EXTERNAL_MS} ms)",
        *(f"- {key}: {value}" for key, value in machine.items()),
    ]
