/**
 * Guardrail findings carry the JSON path of the scanned string (`messages[1].content[0].text`)
 * and character offsets in it, counted in code points (Python's `str`). JavaScript strings index
 * UTF-16 units, so offsets are converted before cutting. Pure: no React, no DOM.
 */
import type { GuardrailFinding } from "../../api/types";

export type PathPart = string | number;

export function parsePath(path: string): PathPart[] {
  if (path === "body" || path === "") return [];
  const parts: PathPart[] = [];
  const pattern = /([^.[\]]+)|\[(\d+)\]/g;
  for (const match of path.matchAll(pattern)) {
    if (match[2] !== undefined) parts.push(Number(match[2]));
    else if (match[1] !== undefined) parts.push(match[1]);
  }
  return parts;
}

/** The value at `path` in a body, or undefined. */
export function resolvePath(body: unknown, path: string): unknown {
  let value: unknown = body;
  for (const part of parsePath(path)) {
    if (typeof part === "number") {
      if (!Array.isArray(value)) return undefined;
      value = value[part];
    } else {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
      value = (value as Record<string, unknown>)[part];
    }
  }
  return value;
}

/** The UTF-16 index of code point `offset` in `text` (clamped to the string). */
export function utf16Index(text: string, offset: number): number {
  let index = 0;
  let points = 0;
  while (index < text.length && points < offset) {
    const code = text.charCodeAt(index);
    index += code >= 0xd800 && code <= 0xdbff && index + 1 < text.length ? 2 : 1;
    points++;
  }
  return index;
}

export interface Segment {
  text: string;
  findings: GuardrailFinding[];
}

/** `text` cut into plain and marked segments; overlapping findings share a segment. */
export function segments(text: string, findings: readonly GuardrailFinding[]): Segment[] {
  const spans = findings
    .map((finding) => ({ finding, start: utf16Index(text, finding.start), end: utf16Index(text, finding.end) }))
    .filter((span) => span.end > span.start);
  if (spans.length === 0) return [{ text, findings: [] }];
  const cuts = new Set<number>([0, text.length]);
  for (const span of spans) {
    cuts.add(span.start);
    cuts.add(span.end);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const result: Segment[] = [];
  for (let index = 0; index + 1 < points.length; index++) {
    const start = points[index]!;
    const end = points[index + 1]!;
    const covering = spans.filter((span) => span.start <= start && span.end >= end).map((span) => span.finding);
    const previous = result[result.length - 1];
    if (previous && previous.findings.length === 0 && covering.length === 0) previous.text += text.slice(start, end);
    else result.push({ text: text.slice(start, end), findings: covering });
  }
  return result;
}

/** The scanned string of each finding, looked up in the body its phase names. */
export interface Located {
  finding: GuardrailFinding;
  text: string | undefined;
}

export function locate(findings: readonly GuardrailFinding[], request: unknown, response: unknown): Located[] {
  return findings.map((finding) => {
    const value = resolvePath(finding.phase === "output" ? response : request, finding.field);
    return { finding, text: typeof value === "string" ? value : undefined };
  });
}

/** Findings whose scanned string is exactly `text`: the ones to mark when `text` is shown. */
export function findingsFor(text: string, located: readonly Located[]): GuardrailFinding[] {
  return located.filter((entry) => entry.text === text).map((entry) => entry.finding);
}

/** A short excerpt around a finding, for the findings list: before, match, after. */
export function excerpt(text: string, finding: GuardrailFinding, context = 40): [string, string, string] {
  const start = utf16Index(text, finding.start);
  const end = utf16Index(text, finding.end);
  const before = text.slice(Math.max(0, start - context), start);
  const after = text.slice(end, end + context);
  return [(start > context ? "…" : "") + before, text.slice(start, end), after + (end + context < text.length ? "…" : "")];
}
