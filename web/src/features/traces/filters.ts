/**
 * The trace list's filters and the URL query they live in (so a filtered view can be shared and
 * survives a reload), and the API query they become. Pure: no React, no DOM.
 */
import type { SpanStatus } from "../../api/types";

export const RANGE_MS = {
  "15m": 15 * 60_000,
  "1h": 60 * 60_000,
  "24h": 24 * 60 * 60_000,
  "7d": 7 * 24 * 60 * 60_000,
  "30d": 30 * 24 * 60 * 60_000,
} as const;

export type PresetRange = keyof typeof RANGE_MS;
export type RangeKey = "all" | PresetRange | "custom";
export const RANGE_LABELS: Record<RangeKey, string> = {
  all: "All time",
  "15m": "Last 15 min",
  "1h": "Last hour",
  "24h": "Last 24 h",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  custom: "Custom",
};

export const STATUSES: readonly SpanStatus[] = ["ok", "error", "blocked", "cancelled"];

export interface TraceFilters {
  q: string;
  upstream: string;
  model: string;
  status: SpanStatus | "";
  session_id: string;
  user_id: string;
  tags: string[];
  guardrail_category: string;
  /** Spans annotated with this score config (its name), within the bounds or with the label below. */
  score_config: string;
  score_min: string;
  score_max: string;
  score_label: string;
  range: RangeKey;
  /** Custom range bounds as `datetime-local` values (local time, `2026-11-27T14:30`). */
  since: string;
  until: string;
  live: boolean;
}

export const EMPTY_FILTERS: TraceFilters = {
  q: "",
  upstream: "",
  model: "",
  status: "",
  session_id: "",
  user_id: "",
  tags: [],
  guardrail_category: "",
  score_config: "",
  score_min: "",
  score_max: "",
  score_label: "",
  range: "all",
  since: "",
  until: "",
  live: false,
};

const TEXT_KEYS = ["q", "upstream", "model", "session_id", "user_id", "guardrail_category"] as const;
const SCORE_BOUNDS = ["score_min", "score_max"] as const;

function isNumber(text: string): boolean {
  return text.trim() !== "" && Number.isFinite(Number(text));
}

function isRange(value: string | null): value is RangeKey {
  return value !== null && value in RANGE_LABELS;
}

function isStatus(value: string | null): value is SpanStatus {
  return value !== null && (STATUSES as readonly string[]).includes(value);
}

export function filtersFromSearch(params: URLSearchParams): TraceFilters {
  const filters: TraceFilters = { ...EMPTY_FILTERS, tags: [] };
  for (const key of TEXT_KEYS) filters[key] = params.get(key)?.trim() ?? "";
  const status = params.get("status");
  filters.status = isStatus(status) ? status : "";
  filters.tags = params
    .getAll("tag")
    .map((tag) => tag.trim())
    .filter(Boolean);
  const range = params.get("range");
  filters.score_config = params.get("score")?.trim() ?? "";
  if (filters.score_config) {
    for (const key of SCORE_BOUNDS) {
      const bound = params.get(key)?.trim() ?? "";
      filters[key] = isNumber(bound) ? bound : "";
    }
    filters.score_label = params.get("score_label") ?? "";
  }
  filters.range = isRange(range) ? range : "all";
  if (filters.range === "custom") {
    filters.since = params.get("since") ?? "";
    filters.until = params.get("until") ?? "";
  }
  filters.live = params.get("live") === "1" && filters.range !== "custom";
  return filters;
}

/** Only what differs from the defaults, in a stable order. */
export function searchFromFilters(filters: TraceFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of TEXT_KEYS) if (filters[key].trim()) params.set(key, filters[key].trim());
  if (filters.status) params.set("status", filters.status);
  for (const tag of filters.tags) if (tag.trim()) params.append("tag", tag.trim());
  if (filters.score_config.trim()) {
    params.set("score", filters.score_config.trim());
    for (const key of SCORE_BOUNDS) if (isNumber(filters[key])) params.set(key, filters[key].trim());
    if (filters.score_label) params.set("score_label", filters.score_label);
  }
  if (filters.range !== "all") params.set("range", filters.range);
  if (filters.range === "custom") {
    if (filters.since) params.set("since", filters.since);
    if (filters.until) params.set("until", filters.until);
  }
  if (filters.live && filters.range !== "custom") params.set("live", "1");
  return params;
}

export interface SpanQuery {
  q?: string;
  upstream?: string;
  model?: string;
  status?: SpanStatus;
  session_id?: string;
  user_id?: string;
  tag?: string[];
  guardrail_category?: string;
  score_config?: string;
  score_min?: number;
  score_max?: number;
  score_label?: string;
  since?: string;
  until?: string;
}

/** A `datetime-local` value (local time) as ISO 8601, or undefined when empty or invalid. */
export function localToIso(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The API query for the filters; a preset range counts back from `now` (fixed per list). */
export function apiQuery(filters: TraceFilters, now: number): SpanQuery {
  const query: SpanQuery = {};
  for (const key of TEXT_KEYS) if (filters[key]) query[key] = filters[key];
  if (filters.status) query.status = filters.status;
  if (filters.tags.length) query.tag = [...filters.tags];
  if (filters.score_config) {
    query.score_config = filters.score_config;
    if (isNumber(filters.score_min)) query.score_min = Number(filters.score_min);
    if (isNumber(filters.score_max)) query.score_max = Number(filters.score_max);
    if (filters.score_label) query.score_label = filters.score_label;
  }
  if (filters.range === "custom") {
    const since = localToIso(filters.since);
    const until = localToIso(filters.until);
    if (since) query.since = since;
    if (until) query.until = until;
  } else if (filters.range !== "all") {
    query.since = new Date(now - RANGE_MS[filters.range]).toISOString();
  }
  return query;
}

/** How many filters narrow the list (search and time range apart). */
export function activeFilterCount(filters: TraceFilters): number {
  const fields = [filters.upstream, filters.model, filters.status, filters.session_id, filters.user_id];
  const others = [filters.guardrail_category, filters.score_config].filter(Boolean).length;
  return fields.filter(Boolean).length + filters.tags.length + others;
}

export function parseTags(text: string): string[] {
  return [...new Set(text.split(",").map((tag) => tag.trim()).filter(Boolean))];
}
