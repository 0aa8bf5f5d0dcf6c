/** One entry of a problem's `errors`: a request field (422) or a line of an imported file. */
export interface FieldError {
  field: string | null;
  message: string;
  /** 1-based line of an imported file. */
  line?: number;
}

/** A failed API call, carrying the problem+json `detail` the server sent (RFC 9457). */
export class ProblemError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors: readonly FieldError[];

  constructor(status: number, title: string, detail: string, errors: readonly FieldError[] = []) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = "ProblemError";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = errors;
  }

  /** Build from whatever the server answered: problem+json, FastAPI's `{detail}`, or text. */
  static from(status: number, body: unknown, statusText = ""): ProblemError {
    const fallbackTitle = statusText || `HTTP ${status}`;
    if (body && typeof body === "object") {
      const record = body as Record<string, unknown>;
      const title = typeof record.title === "string" ? record.title : fallbackTitle;
      const detail = describeDetail(record.detail);
      return new ProblemError(status, title, detail, fieldErrors(record.errors));
    }
    if (typeof body === "string" && body.trim()) {
      return new ProblemError(status, fallbackTitle, body.trim().slice(0, 500));
    }
    return new ProblemError(status, fallbackTitle, "");
  }
}

function describeDetail(detail: unknown): string {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    // FastAPI's own validation shape, for routes outside our problem handlers.
    return detail
      .map((item) => {
        if (item && typeof item === "object" && "msg" in item) {
          const loc = Array.isArray((item as { loc?: unknown }).loc) ? (item as { loc: unknown[] }).loc.join(".") : "";
          return loc ? `${loc}: ${String((item as { msg: unknown }).msg)}` : String((item as { msg: unknown }).msg);
        }
        return JSON.stringify(item);
      })
      .join("; ");
  }
  return detail === undefined || detail === null ? "" : JSON.stringify(detail);
}

/** The problem's `errors` list, keeping only well-formed entries. */
export function fieldErrors(errors: unknown): FieldError[] {
  if (!Array.isArray(errors)) return [];
  const found: FieldError[] = [];
  for (const entry of errors) {
    if (!entry || typeof entry !== "object") continue;
    const record = entry as Record<string, unknown>;
    if (typeof record.message !== "string") continue;
    const field = typeof record.field === "string" ? record.field : null;
    const error: FieldError = { field, message: record.message };
    if (typeof record.line === "number") error.line = record.line;
    found.push(error);
  }
  return found;
}

export function networkProblem(cause: unknown): ProblemError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ProblemError(0, "Glassgate is not reachable", reason);
}

export function isProblem(error: unknown, status?: number): error is ProblemError {
  return error instanceof ProblemError && (status === undefined || error.status === status);
}
