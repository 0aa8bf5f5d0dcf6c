/** Live tail: merging the newest page, polled every 2 s, into the rows already shown (pure). */
interface Row {
  span_id: string;
  started_at: string;
}

export interface Merge<T extends Row> {
  rows: T[];
  added: string[];
  /** The newest page did not reach the rows shown: calls in between are missing, reload the list. */
  gap: boolean;
}

export function mergeNewest<T extends Row>(shown: readonly T[], newest: readonly T[], pageSize: number): Merge<T> {
  const known = new Set(shown.map((span) => span.span_id));
  const fresh = newest.filter((span) => !known.has(span.span_id));
  const overlaps = fresh.length < newest.length;
  const gap = shown.length > 0 && !overlaps && newest.length >= pageSize;
  if (fresh.length === 0) return { rows: [...shown], added: [], gap };
  const rows = [...fresh, ...shown].sort(byNewest);
  return { rows, added: fresh.map((span) => span.span_id), gap };
}

/** Newest first, as the API lists: by start time, then span id (descending). */
export function byNewest(a: Row, b: Row): number {
  if (a.started_at !== b.started_at) return a.started_at < b.started_at ? 1 : -1;
  return a.span_id < b.span_id ? 1 : a.span_id > b.span_id ? -1 : 0;
}

/** Unique by span id, first occurrence kept. */
export function dedupe<T extends Row>(spans: readonly T[]): T[] {
  const seen = new Set<string>();
  return spans.filter((span) => (seen.has(span.span_id) ? false : (seen.add(span.span_id), true)));
}
