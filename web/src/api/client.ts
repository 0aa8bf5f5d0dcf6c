/**
 * The one way the app calls /api/v1: openapi-fetch over the types generated from the server's
 * OpenAPI spec (`make web` regenerates schema.d.ts), with the session cookie and the CSRF header
 * the server requires for cookie-authenticated writes.
 */
import createClient from "openapi-fetch";

import { networkProblem, ProblemError } from "./problem";
import type { paths } from "./schema";

export const CSRF_HEADER = "X-Glassgate-CSRF";

export const api = createClient<paths>({
  baseUrl: "",
  credentials: "same-origin",
  headers: { [CSRF_HEADER]: "1" },
});

interface Outcome<D> {
  data?: D;
  error?: unknown;
  response: Response;
}

/** The response's data, or a ProblemError with the server's `detail`. */
export async function unwrap<D>(request: Promise<Outcome<D>>): Promise<D> {
  let outcome: Outcome<D>;
  try {
    outcome = await request;
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw networkProblem(cause);
  }
  const { data, error, response } = outcome;
  if (!response.ok) throw ProblemError.from(response.status, error, response.statusText);
  return data as D;
}
