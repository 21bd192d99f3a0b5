"""What the benchmark loads: its routes, and the settings every server gets."""

# The pool every server gets: the generated services' defaults, stated explicitly.
POOL_SIZE, MAX_OVERFLOW = 5, 10
# Threads of Starlette's thread pool, which runs sync endpoints (anyio's default).
SYNC_THREADS = 40
SLOW_EXTERNAL_MS = 100
# Servers up at once while read, list and create are measured. Only the one whose turn
# it is opens up to pool 5 + overflow 10; the others keep their pool's 5 (the raw bound
# its two pools' 10), about 45 connections of PostgreSQL's default 100, and 90 if all
# six held 15. The default run's groups (three async variants and three references,
# three sync variants and two) fit in one each.
TOGETHER_SERVERS = 6
ROUTES = ("read", "list", "create", "process 0ms", f"process {SLOW_EXTERNAL_MS}ms")
TOGETHER_ROUTES = ROUTES[:3]
PROCESS_ROUTES = ROUTES[3:]
BARE_ROUTES = ("read", *PROCESS_ROUTES, "import")
# POST /users/import: rows per request, and requests measured after a warm-up one.
IMPORT_ROWS, IMPORTS = 1000, 3
