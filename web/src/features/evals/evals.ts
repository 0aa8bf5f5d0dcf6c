/** Evaluation pages (pure): evaluator params, rule filters, run progress, output diffs, score and timing figures. */
import type { EvalRun, EvaluatorTotals, ItemScore, SpanFilter } from "../../api/types";
import { formatDuration } from "../../components/format";
import { parseJson } from "../datasets/jsonText";

/** Params to start from for each built-in evaluator: the required ones filled with an example. */
export const PARAM_EXAMPLES: Record<string, Record<string, unknown>> = {
  exact_match: { ignore_case: true },
  contains: { values: ["refund"], mode: "any", ignore_case: true },
  regex: { pattern: "\\d+" },
  valid_json: { type: "object" },
  json_schema: { schema: { type: "object", required: ["answer"] } },
  levenshtein: { threshold: 0.8 },
  rouge_l: { threshold: 0.5 },
  embedding_similarity: { threshold: 0.8 },
  latency_threshold: { max_ms: 2000 },
  cost_threshold: { max_usd: 0.01 },
};

export const JUDGE_TEMPLATE = `Is the answer correct for the question?

Question: {{ input }}
Answer: {{ output }}
Reference: {{ expected }}`;

export const JUDGE_LABELS = '{"correct": 1, "incorrect": 0}';

/** The params editor's starting text for an evaluator type. */
export function exampleParams(type: string): string {
  return JSON.stringify(PARAM_EXAMPLES[type] ?? {}, null, 2);
}

export type Built<T> = { ok: true; value: T } | { ok: false; error: string };

/** Params typed as JSON: an object, or where the mistake is. */
export function readParams(text: string): Built<Record<string, unknown>> {
  if (!text.trim()) return { ok: true, value: {} };
  const parsed = parseJson(text);
  if (!parsed.ok) return { ok: false, error: `Params: line ${parsed.line}, column ${parsed.column}: ${parsed.error}` };
  if (!parsed.value || typeof parsed.value !== "object" || Array.isArray(parsed.value)) {
    return { ok: false, error: "Params must be a JSON object, e.g. {\"threshold\": 0.8}." };
  }
  return { ok: true, value: parsed.value as Record<string, unknown> };
}

/** An llm_judge's params from its template and labels ({label: score}). */
export function judgeParams(template: string, labelsText: string): Built<Record<string, unknown>> {
  if (!template.trim()) return { ok: false, error: "Write the judge's prompt template." };
  const labels = readParams(labelsText);
  if (!labels.ok) return { ok: false, error: labels.error.replace(/^Params/, "Labels") };
  return { ok: true, value: Object.keys(labels.value).length ? { template, labels: labels.value } : { template } };
}

export interface FilterForm {
  upstream: string;
  model: string;
  status: string;
  project: string;
  tags: string;
  q: string;
}

export const EMPTY_FILTER: FilterForm = { upstream: "", model: "", status: "", project: "", tags: "", q: "" };

/** The rule's span filter: only the fields filled in; tags comma-separated. */
export function spanFilter(form: FilterForm): SpanFilter {
  const filter: SpanFilter = {};
  if (form.upstream.trim()) filter.upstream = form.upstream.trim();
  if (form.model.trim()) filter.model = form.model.trim();
  if (form.status) filter.status = form.status as NonNullable<SpanFilter["status"]>;
  if (form.project.trim()) filter.project = form.project.trim();
  if (form.q.trim()) filter.q = form.q.trim();
  const tags = form.tags
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
  if (tags.length) filter.tags = tags;
  return filter;
}

/** A filter as one line: `model=gpt-4o · tags=support` or "every call". */
export function describeFilter(filter: SpanFilter): string {
  const parts = Object.entries(filter).flatMap(([key, value]) => {
    if (value === null || value === undefined || value === "") return [];
    if (Array.isArray(value)) return value.length ? [`${key}=${value.join(",")}`] : [];
    return [`${key}=${String(value)}`];
  });
  return parts.length ? parts.join(" · ") : "every call";
}

/** `upstream:model` → its parts; the upstream is required. */
export function readTarget(text: string): Built<{ upstream: string; model: string }> {
  const at = text.indexOf(":");
  const upstream = at > 0 ? text.slice(0, at).trim() : "";
  const model = at > 0 ? text.slice(at + 1).trim() : "";
  if (!upstream || !model) return { ok: false, error: "Target: write upstream:model, e.g. openai:gpt-4o-mini." };
  return { ok: true, value: { upstream, model } };
}

/** A run's progress as shares of its items (0..1): done without error, errors, running, pending. */
export function runShares(run: Pick<EvalRun, "item_count" | "done" | "errors" | "running" | "pending">) {
  const total = Math.max(run.item_count, 1);
  const ok = Math.max(run.done - run.errors, 0);
  return { ok: ok / total, errors: run.errors / total, running: run.running / total, pending: run.pending / total };
}

export const STATUS_LABELS: Record<string, string> = {
  created: "not run",
  running: "running",
  completed: "completed",
  cancelled: "cancelled",
  stopped_cost_ceiling: "stopped at cost ceiling",
};

export function statusClass(status: string): string {
  if (status === "completed") return "status-ok";
  if (status === "running") return "status-running";
  if (status === "stopped_cost_ceiling") return "status-blocked";
  return "status-cancelled";
}

/** An item's score as a person reads it: the label, else the number. */
export function scoreText(score: ItemScore | undefined): string {
  if (!score) return "—";
  if (score.error) return "error";
  if (score.label) return score.label;
  if (score.score !== null) return formatScore(score.score);
  return "—";
}

export function formatScore(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return Number.isInteger(value) ? String(value) : value.toFixed(value >= 10 ? 1 : 3).replace(/0+$/, "").replace(/\.$/, "");
}

/** The evaluators scored in any of the runs, in first-seen order (by id). */
export function evaluatorColumns(runs: readonly { scores: readonly EvaluatorTotals[] }[]): { id: string; name: string }[] {
  const seen = new Map<string, string>();
  for (const run of runs) for (const total of run.scores) if (!seen.has(total.evaluator_id)) seen.set(total.evaluator_id, total.evaluator);
  return [...seen].map(([id, name]) => ({ id, name }));
}

/** The best of the runs' figures (higher is better for scores, lower for cost and latency); -1 when none or a tie of all. */
export function bestIndex(values: readonly (number | null | undefined)[], higherIsBetter: boolean): number {
  let best = -1;
  let distinct = false;
  values.forEach((value, index) => {
    if (value === null || value === undefined || Number.isNaN(value)) return;
    const current = best >= 0 ? values[best] : undefined;
    if (current === null || current === undefined) {
      best = index;
      return;
    }
    if (value !== current) distinct = true;
    if (higherIsBetter ? value > current : value < current) best = index;
  });
  return distinct ? best : -1;
}

/** A run's time to first token as `p50 / p95`; "—" when it has none (its target was not streamed, or no answer yet). */
export function ttftText(run: Pick<EvalRun, "ttft_p50_ms" | "ttft_p95_ms">): string {
  if (run.ttft_p50_ms === null && run.ttft_p95_ms === null) return "—";
  return `${formatDuration(run.ttft_p50_ms)} / ${formatDuration(run.ttft_p95_ms)}`;
}

/**
 * Whether items show their time to first token: when any run compared was streamed. Runs that
 * were not then read "—"; when none was, every item would, so the figure is left out.
 */
export function showsTtft(runs: readonly { target: { stream?: boolean }; ttft_p50_ms: number | null }[]): boolean {
  return runs.some((run) => run.target.stream === true || run.ttft_p50_ms !== null);
}

/** An output as text to read and diff: strings as they are, anything else as pretty JSON. */
export function outputText(output: unknown): string {
  if (output === null || output === undefined) return "";
  if (typeof output === "string") return output;
  return JSON.stringify(output, null, 2);
}

export interface Piece {
  text: string;
  /** Not in the other output. */
  changed: boolean;
}

const MAX_DIFF_TOKENS = 2000;

/**
 * `text` split into pieces, marking the words that are not in `base` (a word-level LCS diff).
 * Long texts (over 2,000 words on either side) are marked wholly changed when they differ.
 */
export function diffWords(base: string, text: string): Piece[] {
  if (base === text) return text ? [{ text, changed: false }] : [];
  const a = base.split(/(\s+)/).filter(Boolean);
  const b = text.split(/(\s+)/).filter(Boolean);
  if (a.length > MAX_DIFF_TOKENS || b.length > MAX_DIFF_TOKENS) return text ? [{ text, changed: true }] : [];
  // lengths[i][j]: the LCS of a[i..] and b[j..]
  const lengths: Uint16Array[] = Array.from({ length: a.length + 1 }, () => new Uint16Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    const row = lengths[i] as Uint16Array;
    const below = lengths[i + 1] as Uint16Array;
    for (let j = b.length - 1; j >= 0; j -= 1) {
      row[j] = a[i] === b[j] ? (below[j + 1] as number) + 1 : Math.max(below[j] as number, row[j + 1] as number);
    }
  }
  const pieces: Piece[] = [];
  const push = (token: string, changed: boolean) => {
    const last = pieces[pieces.length - 1];
    // Whitespace joins whatever it sits between, so a changed phrase reads as one mark.
    const effective = /^\s+$/.test(token) && last ? last.changed : changed;
    if (last && last.changed === effective) last.text += token;
    else pieces.push({ text: token, changed: effective });
  };
  let i = 0;
  let j = 0;
  while (j < b.length) {
    if (i < a.length && a[i] === b[j]) {
      push(b[j] as string, false);
      i += 1;
      j += 1;
    } else if (i < a.length && (lengths[i + 1]?.[j] ?? 0) >= (lengths[i]?.[j + 1] ?? 0)) {
      i += 1;
    } else {
      push(b[j] as string, true);
      j += 1;
    }
  }
  return pieces;
}
