"""Evaluation: evaluators, online rules, experiments and their runs and results, and the job queue.

Scores are not a table of their own: every score is a row of `annotations` (source 'llm' or
'code', author = the evaluator's name, under the evaluator's score config), so it shows on the
span, in the trace list's score filters and on the dashboards like a human's. `eval_key` names
what produced a machine score (`run:{run_id}:{item_id}:{evaluator_id}` or
`rule:{rule_id}:{span_id}`); being unique, it lets a job that runs twice (a worker died after
writing) write each score once. Its index uses text_pattern_ops so one prefix scan finds a
whole run's scores.

Jobs live in PostgreSQL so any number of workers, on any number of hosts, share them: a
worker claims ready jobs with `FOR UPDATE SKIP LOCKED` and holds each through a lease that
it renews while it works; a job whose lease ran out (its worker died) is claimed again.
`idempotency_key` is unique, so enqueueing the same work twice adds nothing.

Experiments name their dataset by id without a foreign key: deleting a dataset must not
delete the experiments (and results) that used it, nor be refused because of them.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE evaluators ("
        "evaluator_id text PRIMARY KEY, "
        "name text NOT NULL UNIQUE, "
        "evaluator_type text NOT NULL, "  # a registered evaluator (glassgate.evals.base.create)
        "kind text NOT NULL CHECK (kind IN ('code', 'llm')), "
        "params jsonb NOT NULL DEFAULT '{}', "
        "judge_upstream text, "  # llm only; NULL: the configured evals.judge
        "judge_model text, "
        "config_id text NOT NULL REFERENCES score_configs (config_id), "
        "description text NOT NULL DEFAULT '', "
        "created_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute(
        "CREATE TABLE eval_rules ("
        "rule_id text PRIMARY KEY, "
        "name text NOT NULL UNIQUE, "
        "evaluator_id text NOT NULL REFERENCES evaluators (evaluator_id), "
        "filter jsonb NOT NULL DEFAULT '{}', "  # the span list's filters: upstream, model, tags, ...
        "sampling_rate double precision NOT NULL CHECK (sampling_rate >= 0 AND sampling_rate <= 1), "
        "delay_s double precision NOT NULL DEFAULT 0 CHECK (delay_s >= 0), "
        "enabled boolean NOT NULL DEFAULT true, "
        "scanned_until timestamptz NOT NULL DEFAULT now(), "  # spans started before this were looked at
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "updated_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute(
        "CREATE TABLE experiments ("
        "experiment_id text PRIMARY KEY, "
        "name text NOT NULL UNIQUE, "
        "description text NOT NULL DEFAULT '', "
        "dataset_id text NOT NULL, "
        "dataset_version integer NOT NULL, "
        "target jsonb NOT NULL, "  # {upstream, model, prompt_template, parameters}
        "evaluator_ids text[] NOT NULL DEFAULT '{}', "
        "concurrency integer NOT NULL DEFAULT 8 CHECK (concurrency > 0), "
        "max_retries integer NOT NULL DEFAULT 3 CHECK (max_retries >= 0), "
        "cost_ceiling_usd double precision CHECK (cost_ceiling_usd > 0), "
        "status text NOT NULL DEFAULT 'created', "  # its latest run's status
        "created_by text NOT NULL DEFAULT '', "
        "created_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute(
        "CREATE TABLE experiment_runs ("
        "run_id text PRIMARY KEY, "
        "experiment_id text NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE, "
        "number integer NOT NULL, "
        "status text NOT NULL DEFAULT 'running' CHECK (status IN "
        "('running', 'completed', 'cancelled', 'stopped_cost_ceiling')), "
        "item_count integer NOT NULL, "
        "started_at timestamptz NOT NULL DEFAULT now(), "
        "finished_at timestamptz, "
        # Totals, written when the run ends; a live run's are summed from its results.
        "completed integer, "
        "errors integer, "
        "cost_usd double precision, "
        "created_by text NOT NULL DEFAULT '', "
        "UNIQUE (experiment_id, number))"
    )
    op.execute(
        "CREATE TABLE experiment_results ("
        "run_id text NOT NULL REFERENCES experiment_runs (run_id) ON DELETE CASCADE, "
        "item_id text NOT NULL, "
        "item_version integer NOT NULL, "  # the item row's valid_from: its input as it was run
        "output jsonb, "
        "output_span_id text, "
        "output_trace_id text, "  # the item's trace: the target's call and its judges' calls
        "latency_ms double precision, "
        "cost_usd double precision, "
        "input_tokens bigint, "
        "output_tokens bigint, "
        "error text, "  # the target gave no output (the item is then not scored)
        "score_errors jsonb NOT NULL DEFAULT '{}', "  # {evaluator_id: why it gave no score}
        "scored_at timestamptz, "  # every evaluator has scored it or said why not
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "PRIMARY KEY (run_id, item_id))"
    )
    op.execute("CREATE INDEX experiment_results_span_idx ON experiment_results (output_span_id)")
    op.execute("ALTER TABLE annotations ADD COLUMN eval_key text")
    op.execute(
        "CREATE UNIQUE INDEX annotations_eval_key_idx ON annotations (eval_key text_pattern_ops) "
        "WHERE eval_key IS NOT NULL"
    )
    op.execute(
        "CREATE TABLE eval_jobs ("
        "job_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "kind text NOT NULL, "
        "payload jsonb NOT NULL, "
        "idempotency_key text NOT NULL UNIQUE, "
        "run_id text REFERENCES experiment_runs (run_id) ON DELETE CASCADE, "  # experiment items only
        "status text NOT NULL DEFAULT 'pending' CHECK (status IN "
        "('pending', 'running', 'done', 'failed', 'cancelled')), "
        "attempts integer NOT NULL DEFAULT 0, "
        "max_attempts integer NOT NULL DEFAULT 5, "
        "lease_owner text, "
        "lease_until timestamptz, "
        "run_after timestamptz NOT NULL DEFAULT now(), "
        "last_error text, "
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "finished_at timestamptz)"
    )
    op.execute("CREATE INDEX eval_jobs_ready_idx ON eval_jobs (run_after, job_id) WHERE status = 'pending'")
    op.execute("CREATE INDEX eval_jobs_leased_idx ON eval_jobs (lease_until) WHERE status = 'running'")
    # A run's open jobs: its concurrency limit and whether it has finished.
    op.execute(
        "CREATE INDEX eval_jobs_open_run_idx ON eval_jobs (run_id, status) "
        "WHERE run_id IS NOT NULL AND status IN ('pending', 'running')"
    )
    op.execute("CREATE INDEX eval_jobs_finished_idx ON eval_jobs (finished_at) WHERE finished_at IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP TABLE eval_jobs")
    op.execute("DROP INDEX annotations_eval_key_idx")
    op.execute("ALTER TABLE annotations DROP COLUMN eval_key")
    op.execute("DROP TABLE experiment_results")
    op.execute("DROP TABLE experiment_runs")
    op.execute("DROP TABLE experiments")
    op.execute("DROP TABLE eval_rules")
    op.execute("DROP TABLE evaluators")
