"""What the benchmark loads: its routes, and the settings every server gets."""

# The pool every server gets: the generated services' defaults, stated explicitly.
POOL_SIZE, MAX_OVERFLOW = 5, 10
# Threads of Starlette's thread pool, which runs sync endpoints (anyio's default).
SYNC_THREADS = 40
SLOW_EXTERNAL_MS = 100
# Servers up at once while read, list and create are measured: 75 connections at most,
# of PostgreSQL's default 100. The default run's groups (three variants and two
# references of one concurrency) fit in one.
TOGETHER_SERVERS = 5
ROUTES = ("read", "list", "create", "process 0ms", f"process {SLOW_EXTERNAL_MS}ms")
TOGETHER_ROUTES = ROUTES[:3]
PROCESS_ROUTES = ROUTES[3:]
BARE_ROUTES = ("read", *PROCESS_ROUTES)
