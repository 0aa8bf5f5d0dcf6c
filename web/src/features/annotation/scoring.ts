/**
 * Scoring a span by hand (pure): the choices each kind of score config offers and the keys that
 * pick them, reading a typed number against the config's range, the caller's own annotations,
 * and the score-config form. No React, no DOM.
 */
import type { Annotation, ScoreConfig, ScoreConfigCreate, ScoreKind } from "../../api/types";

export type ScoreValue = number | string | boolean;

export interface Choice {
  label: string;
  value: ScoreValue;
  /** The key that picks it: "1" to "9". */
  key: string;
}

export const KIND_LABELS: Record<ScoreKind, string> = {
  numeric: "Number",
  categorical: "Labels",
  boolean: "Yes / no",
  text: "Text",
};

/** Labels (categorical) or yes/no (boolean), keyed 1–9 in order; nothing for numbers and text. */
export function choicesFor(config: ScoreConfig): Choice[] {
  if (config.kind === "boolean") {
    return [
      { label: "Yes", value: true, key: "1" },
      { label: "No", value: false, key: "2" },
    ];
  }
  if (config.kind !== "categorical") return [];
  return config.categories.slice(0, 9).map((category, index) => ({
    label: category.label,
    value: category.label,
    key: String(index + 1),
  }));
}

export function choiceForKey(config: ScoreConfig, key: string): Choice | undefined {
  return choicesFor(config).find((choice) => choice.key === key);
}

export type Parsed = { ok: true; value: number } | { ok: false; error: string };

/** A typed number, checked against the config's inclusive bounds. */
export function parseNumber(text: string, config: Pick<ScoreConfig, "min_value" | "max_value">): Parsed {
  const trimmed = text.trim();
  if (!trimmed) return { ok: false, error: "Enter a number." };
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return { ok: false, error: `"${trimmed}" is not a number.` };
  const { min_value: min, max_value: max } = config;
  if ((min !== null && value < min) || (max !== null && value > max)) {
    return { ok: false, error: `Enter a number ${rangeText(config)}.` };
  }
  return { ok: true, value };
}

export function rangeText(config: Pick<ScoreConfig, "min_value" | "max_value">): string {
  const { min_value: min, max_value: max } = config;
  if (min !== null && max !== null) return `from ${min} to ${max}`;
  if (min !== null) return `of ${min} or more`;
  if (max !== null) return `of ${max} or less`;
  return "";
}

/** How an annotation's value reads: the number, the label, Yes/No, or the text. */
export function valueText(annotation: Pick<Annotation, "kind" | "value" | "value_number" | "value_text">): string {
  const { kind, value } = annotation;
  if (kind === "boolean") return value === true || annotation.value_text === "true" ? "Yes" : "No";
  if (kind === "numeric") {
    const number = typeof value === "number" ? value : annotation.value_number;
    return number === null ? "—" : String(Math.round(number * 1000) / 1000);
  }
  return typeof value === "string" ? value : (annotation.value_text ?? "—");
}

/** The caller's human annotation per config id (the API keeps one per author, span and config). */
export function mine(annotations: readonly Annotation[], author: string): Map<string, Annotation> {
  const own = new Map<string, Annotation>();
  for (const annotation of annotations) {
    if (annotation.source === "human" && annotation.author === author) own.set(annotation.config_id, annotation);
  }
  return own;
}

/** The configs a reviewer fills in: the queue's, in its order, else every live one; archived ones left out. */
export function configsToScore(configs: readonly ScoreConfig[], ids: readonly string[] = []): ScoreConfig[] {
  const live = configs.filter((config) => !config.archived_at);
  if (ids.length === 0) return live;
  const byId = new Map(live.map((config) => [config.config_id, config]));
  return ids.flatMap((id) => {
    const config = byId.get(id);
    return config ? [config] : [];
  });
}

/** The next field up or down, staying within the list. */
export function step(current: number, delta: number, count: number): number {
  if (count === 0) return 0;
  return Math.min(Math.max(current + delta, 0), count - 1);
}

/**
 * Labels as typed in the form: `bad, ok, good` (valued 0, 1, 2) or `bad=0, good=1`.
 * Labels must be unique; values too.
 */
export function parseCategories(
  text: string,
): { ok: true; categories: { label: string; value: number }[] } | { ok: false; error: string } {
  const parts = text
    .split(/[,\n]/)
    .map((part) => part.trim())
    .filter(Boolean);
  if (parts.length === 0) return { ok: false, error: "Add at least one label." };
  if (parts.length > 50) return { ok: false, error: "At most 50 labels." };
  const categories: { label: string; value: number }[] = [];
  for (const [index, part] of parts.entries()) {
    const equals = part.lastIndexOf("=");
    const label = (equals > 0 ? part.slice(0, equals) : part).trim();
    const valueText = equals > 0 ? part.slice(equals + 1).trim() : String(index);
    const value = Number(valueText);
    if (!label) return { ok: false, error: `"${part}" has no label.` };
    if (!valueText || !Number.isFinite(value)) return { ok: false, error: `"${part}": the value must be a number.` };
    if (categories.some((category) => category.label === label))
      return { ok: false, error: `"${label}" is there twice.` };
    if (categories.some((category) => category.value === value))
      return { ok: false, error: `Two labels have the value ${value}.` };
    categories.push({ label, value });
  }
  return { ok: true, categories };
}

export interface ConfigForm {
  name: string;
  kind: ScoreKind;
  description: string;
  min: string;
  max: string;
  categories: string;
}

export const EMPTY_CONFIG_FORM: ConfigForm = {
  name: "",
  kind: "categorical",
  description: "",
  min: "",
  max: "",
  categories: "",
};

/** The create request for the form, or what to fix first. */
export function configBody(form: ConfigForm): { ok: true; body: ScoreConfigCreate } | { ok: false; error: string } {
  const name = form.name.trim();
  if (!name) return { ok: false, error: "Give the score a name." };
  const body: ScoreConfigCreate = { name, kind: form.kind, description: form.description.trim() };
  if (form.kind === "numeric") {
    const bounds: (number | null)[] = [];
    for (const [what, text] of [
      ["minimum", form.min],
      ["maximum", form.max],
    ] as const) {
      const trimmed = text.trim();
      const value = trimmed ? Number(trimmed) : null;
      if (value !== null && !Number.isFinite(value)) return { ok: false, error: `The ${what} must be a number.` };
      bounds.push(value);
    }
    const [min, max] = bounds as [number | null, number | null];
    if (min !== null && max !== null && max <= min)
      return { ok: false, error: "The maximum must be greater than the minimum." };
    body.min_value = min;
    body.max_value = max;
  }
  if (form.kind === "categorical") {
    const parsed = parseCategories(form.categories);
    if (!parsed.ok) return parsed;
    body.categories = parsed.categories;
  }
  return { ok: true, body };
}

/** A queue's progress as the shares a bar draws: completed, skipped, in progress, waiting (in %). */
export function progressShares(progress: {
  total: number;
  completed: number;
  skipped: number;
  in_progress: number;
  pending: number;
}): {
  completed: number;
  skipped: number;
  inProgress: number;
  waiting: number;
} {
  const total = progress.total || 1;
  const share = (count: number) => Math.round((count / total) * 1000) / 10;
  return {
    completed: share(progress.completed),
    skipped: share(progress.skipped),
    inProgress: share(progress.in_progress),
    waiting: share(Math.max(progress.pending - progress.in_progress, 0)),
  };
}
