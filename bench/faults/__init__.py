"""Glassgate under faults (issues 4 and 8), scripted and bounded: `python -m bench.faults`.

Every scenario runs Glassgate as a subprocess (`glassgate serve`) whose `database_url` points at
a PostgreSQL of the bench's own, on loopback, under load, and reports numbers: calls failed,
spans lost, memory.

- `outage` (outage.py): PostgreSQL stopped for 30 s, then started again.
- `freeze` (freeze.py): PostgreSQL hung for 30 s (SIGSTOP to the postmaster and its
  backends), then SIGCONT: connections stay open and nothing answers.
- `sigterm` (sigterm.py): Glassgate gets SIGTERM with the database up, then with it down.
- `upstream` (upstream_faults.py): the upstream answers 5xx, goes silent past read_timeout_s,
  or resets before its headers, mid-body and mid-stream, among healthy calls.
- `slowloris` (slowloris.py): 1,000 clients dribble a head or a body a byte a second.
- `streams` (concurrent_streams.py): 1,000 streams open at once; memory with PostgreSQL.
- `soak` (soak.py): mixed traffic for `--soak-minutes`, RSS sampled: growth and slope.
- `replicas` (replicas.py): two Glassgates on one PostgreSQL behind nginx; one gets SIGTERM
  under load and is started again.
- `redis` (redis_down.py): the rate limits' Redis stopped, then hung, with on_redis_error
  open and closed.

The modules they share, one job each:

- postgres.py: the bench's PostgreSQL, which can be stopped, started, frozen and thawed.
- stack.py: the processes of one run (PostgreSQL, mock upstreams, Glassgates) in one temporary
  directory, all stopped on the way out.
- faulty_upstream.py: an OpenAI-like upstream that misbehaves when a request header says so.
- load.py: the open-loop load of the database scenarios, and latency percentiles.
- traffic.py: open-loop traffic of several kinds of calls (faults, hang-ups), each recorded.
- monitor.py: Glassgate's RSS and span writer counters (/metrics), sampled during the load.
- sampler.py: RSS, PSS and open files of Glassgate (and its PostgreSQL), every sample kept.
- audit.py: spans counted with plain SQL and matched to the calls.
- under_load.py: the frame of `outage` and `freeze` (warm-up, fault, recovery) and their checks.
- scenario.py: options, progress lines and rounding, shared by every scenario.
- __main__.py: the command line and its report (`--json` for all the numbers; exit 1 when a
  check fails).
"""
