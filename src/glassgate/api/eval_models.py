"""The bodies and answers of the evaluation API (api/evals.py), precise enough for the generated client."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

NAME = Field(min_length=1, max_length=100, description="Unique.")
RunStatus = Literal["running", "completed", "cancelled", "stopped_cost_ceiling"]


# --- evaluators ----------------------------------------------------------------------------------


class EvaluatorIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(
        min_length=1,
        max_length=100,
        description="Unique. Scores are annotations by this author, under the score config of this name "
        "(created with the evaluator, or an existing one that fits its scale).",
    )
    type: str = Field(description="A registered evaluator: GET /api/v1/evaluators/types.")
    params: dict[str, JsonValue] = Field(default_factory=dict, description="The evaluator's own params.")
    judge_upstream: str | None = Field(
        default=None, description="LLM judges: the upstream asked (default evals.judge)."
    )
    judge_model: str | None = Field(default=None, description="LLM judges: the model asked (default evals.judge).")
    description: str = Field(default="", max_length=2000)


class EvaluatorPatch(BaseModel):
    """Only the fields sent change; the evaluator's scale (its score config) cannot."""

    params: dict[str, JsonValue] | None = None
    judge_upstream: str | None = None
    judge_model: str | None = None
    description: str | None = Field(default=None, max_length=2000)


class Evaluator(BaseModel):
    evaluator_id: str
    name: str
    evaluator_type: str
    kind: Literal["code", "llm"] = Field(description="llm: asks a judge model; code: computes its score.")
    params: dict[str, Any]
    judge_upstream: str | None
    judge_model: str | None
    config_id: str = Field(description="The score config its scores are stored under.")
    score_kind: Literal["numeric", "categorical", "boolean", "text"]
    description: str
    created_at: datetime


class EvaluatorList(BaseModel):
    data: list[Evaluator]


class EvaluatorTypes(BaseModel):
    data: list[str] = Field(description="The registered evaluator names, built-ins and plugins alike.")


class ConfusionCell(BaseModel):
    machine: str
    human: str
    count: int


class Agreement(BaseModel):
    evaluator_id: str
    evaluator: str
    config_id: str = Field(description="The evaluator's score config.")
    human_config_id: str = Field(description="The config of the human annotations compared.")
    run_id: str | None = Field(description="Only that run's outputs; null: every span the evaluator scored.")
    pairs: int = Field(description="(evaluator score, human annotation) pairs on the same span.")
    spans: int
    exact_agreement: float | None = Field(description="Labels: the share of pairs with the same label.")
    cohen_kappa: float | None = Field(description="Labels: agreement beyond chance; null when chance explains all.")
    confusion: list[ConfusionCell] = Field(description="Labels: how often each (machine, human) pair occurs.")
    pearson: float | None = Field(description="Numbers: Pearson's r; null for fewer than two pairs or no variance.")
    mae: float | None = Field(description="Numbers: the mean absolute difference.")


# --- rules ---------------------------------------------------------------------------------------


class SpanFilter(BaseModel):
    """The span list's filters: a span must match every one given."""

    model_config = ConfigDict(extra="forbid")

    upstream: str | None = None
    model: str | None = Field(default=None, description="The model as requested (Azure: the deployment).")
    status: Literal["ok", "error", "blocked", "cancelled"] | None = None
    project: str | None = None
    kind: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    tags: list[str] = Field(default_factory=list, description="Spans carrying every one of these.")
    guardrail_category: str | None = None
    q: str | None = Field(default=None, max_length=500, description="Words in the input or output preview.")


class RuleIn(BaseModel):
    name: str = NAME
    evaluator_id: str
    filter: SpanFilter = Field(default_factory=SpanFilter)
    sampling_rate: float = Field(ge=0, le=1, description="The share of matching spans scored (by span id hash).")
    delay_s: float = Field(default=0, ge=0, le=86_400, description="Seconds after the call ended before scoring.")
    enabled: bool = True


class RulePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    evaluator_id: str | None = None
    filter: SpanFilter | None = None
    sampling_rate: float | None = Field(default=None, ge=0, le=1)
    delay_s: float | None = Field(default=None, ge=0, le=86_400)
    enabled: bool | None = None


class Rule(BaseModel):
    rule_id: str
    name: str
    evaluator_id: str
    evaluator_name: str
    filter: SpanFilter
    sampling_rate: float
    delay_s: float
    enabled: bool
    scanned_until: datetime = Field(
        description="When the rule last looked for new spans (every span stored before then has been looked at)."
    )
    created_at: datetime
    updated_at: datetime


class RuleJobs(BaseModel):
    pending: int = 0
    running: int = 0
    done: int = 0
    failed: int = Field(default=0, description="Spans the evaluator could not score (see the jobs' errors).")
    cancelled: int = 0


class RuleDetail(Rule):
    jobs: RuleJobs


class RuleList(BaseModel):
    data: list[Rule]


# --- experiments ---------------------------------------------------------------------------------


class MessageTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(description="Text with {{ placeholders }} for the item's values.")


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upstream: str = Field(description="A configured openai, azure, anthropic or bedrock upstream.")
    model: str = Field(
        description="The model (Azure: the deployment; Bedrock: the model id or ARN, called by Converse)."
    )
    prompt_template: str | list[MessageTemplate] | None = Field(
        default=None,
        description="Text (one user message) or messages; {{ question }} takes the input's field, {{ input }}, "
        "{{ expected_output }}, {{ metadata.x }} the item's. Absent: a text input is the user message, an input "
        "with `messages` the conversation.",
    )
    parameters: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Added to each request as they are, in the vendor's own names (temperature, max_tokens, ...; "
        'Bedrock: inferenceConfig {"maxTokens", "temperature"}, additionalModelRequestFields).',
    )
    api_version: str = Field(default="2024-10-21", description="Azure only: the api-version query value.")
    stream: bool = Field(
        default=False,
        description="Ask for a streamed answer (Bedrock: ConverseStream) and record its time to first token.",
    )


class ExperimentIn(BaseModel):
    name: str = NAME
    description: str = Field(default="", max_length=2000)
    dataset_id: str
    dataset_version: int | None = Field(default=None, ge=1, description="Pinned; the latest when left out.")
    target: TargetIn
    evaluator_ids: list[str] = Field(default_factory=list, max_length=20)
    concurrency: int = Field(default=8, ge=1, le=1000, description="Items in flight at once, across every worker.")
    max_retries: int = Field(default=3, ge=0, le=10, description="Tries again on 429 and 5xx answers, with backoff.")
    cost_ceiling_usd: float | None = Field(
        default=None,
        gt=0,
        description="No new item starts once a run has cost this much (status stopped_cost_ceiling).",
    )
    start: bool = Field(default=False, description="Start the first run at once.")


class Experiment(BaseModel):
    experiment_id: str
    name: str
    description: str
    dataset_id: str
    dataset_name: str | None = Field(description="Null when the dataset was deleted.")
    dataset_version: int
    target: TargetIn
    evaluator_ids: list[str]
    concurrency: int
    max_retries: int
    cost_ceiling_usd: float | None
    status: Literal["created", "running", "completed", "cancelled", "stopped_cost_ceiling"] = Field(
        description="Its latest run's status; created before the first run."
    )
    created_by: str
    created_at: datetime
    run_count: int


class ExperimentList(BaseModel):
    data: list[Experiment]


class Run(BaseModel):
    run_id: str
    experiment_id: str
    experiment_name: str
    number: int = Field(description="1 for an experiment's first run, then 2, ...")
    status: RunStatus
    item_count: int
    done: int = Field(description="Items with an output scored, or an error.")
    errors: int = Field(description="Items with an error of the target or of an evaluator.")
    pending: int = Field(description="Items waiting for a worker.")
    running: int = Field(description="Items being worked on.")
    cost_usd: float | None = Field(description="The target calls' cost so far (null when none was priced).")
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    ttft_p50_ms: float | None = Field(
        description="Streamed targets: the median time to first token; null when the target was not streamed."
    )
    ttft_p95_ms: float | None = Field(
        description="Streamed targets: the 95th percentile of the time to first token; null when not streamed."
    )
    started_at: datetime
    finished_at: datetime | None
    created_by: str


class RunList(BaseModel):
    data: list[Run]


class EvaluatorTotals(BaseModel):
    evaluator_id: str
    evaluator: str
    kind: Literal["code", "llm"]
    score_kind: str
    count: int = Field(description="Items scored.")
    mean: float | None = Field(description="The mean score (labels by their values).")
    errors: int = Field(description="Items it could not score.")
    labels: dict[str, int] = Field(description="How often each label was given.")


class RunSummary(Run):
    target: TargetIn
    dataset_id: str
    dataset_version: int
    scores: list[EvaluatorTotals]


class ItemScore(BaseModel):
    evaluator_id: str
    evaluator: str
    score: float | None
    label: str | None
    value: Any = Field(description="As a human's annotation would say it: number, label, or true/false.")
    explanation: str
    error: str | None = Field(description="Why there is no score (the judge's answer matched no label, ...).")


class RunResult(BaseModel):
    run_id: str
    item_id: str
    item_version: int = Field(description="The dataset version that wrote the item's row that was run.")
    output: Any = Field(description="The answer's text, or {messages} when the model called tools.")
    output_span_id: str | None = Field(description="The span of the target's call (scores are annotations on it).")
    output_trace_id: str | None = Field(description="The item's trace: the target's call and its judges' calls.")
    latency_ms: float | None = Field(description="From the request to the answer's last byte, through the proxy.")
    ttft_ms: float | None = Field(
        description="Streamed targets: from the request to the first content; null when the target was not streamed."
    )
    cost_usd: float | None
    input_tokens: int | None
    output_tokens: int | None
    error: str | None = Field(description="Why the target gave no output; the item is then not scored.")
    scored_at: datetime | None
    scores: list[ItemScore]


class ResultWithItem(RunResult):
    input: Any
    expected_output: Any


class ResultPage(BaseModel):
    data: list[ResultWithItem]
    next_cursor: str | None


class ComparedItem(BaseModel):
    item_id: str
    input: Any
    expected_output: Any
    outputs_differ: bool = Field(description="The runs' outputs are not all equal (or a run has no result).")
    results: list[RunResult | None] = Field(description="One per run, in the order asked; null: not run.")


class Comparison(BaseModel):
    runs: list[RunSummary]
    items: list[ComparedItem]
    next_cursor: str | None
