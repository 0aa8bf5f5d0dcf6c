import type { SpanSummary } from "../../api/types";

/** A span's display name: its operation or model, else what OTLP named it. */
export function spanName(span: SpanSummary): string {
  const otlpName = span.attributes["otel.name"];
  if (span.kind === "llm") return [span.operation, span.model ?? span.response_model].filter(Boolean).join(" · ") || "LLM call";
  return typeof otlpName === "string" ? otlpName : (span.operation ?? span.kind);
}
