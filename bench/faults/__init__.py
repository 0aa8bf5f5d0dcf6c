"""The span pipeline under faults (issue 4), scripted and bounded: `python -m bench.faults`.

Scenarios, each against a Glassgate subprocess whose `database_url` points at a PostgreSQL of
the bench's own, under a steady open-loop load of chat completions:

- `outage` (outage.py): PostgreSQL stopped for 30 s, then started again.
- `freeze` (freeze.py): PostgreSQL hung for 30 s (SIGSTOP to the postmaster and its
  backends), then SIGCONT: connections stay open and nothing answers.
- `sigterm` (sigterm.py): Glassgate gets SIGTERM with the database up, then with it down.

The modules, one job each:

- postgres.py: the bench's PostgreSQL, which can be stopped, started, frozen and thawed.
- stack.py: the processes of one run (PostgreSQL, mock upstream, Glassgates) in one temporary
  directory, all stopped on the way out.
- load.py: the open-loop load generator and latency percentiles.
- monitor.py: Glassgate's RSS and span writer counters (/metrics), sampled during the load.
- audit.py: spans counted with plain SQL and matched to the calls.
- under_load.py: the frame of `outage` and `freeze` (warm-up, fault, recovery) and their checks.
- scenario.py: options, progress lines and rounding, shared by every scenario.
- __main__.py: the command line and its report (`--json` for all the numbers; exit 1 when a
  check fails).
"""
