import type { SpanSummary } from "../../api/types";

/** A span's display name: its operation or model, else what OTLP named it. */
export function spanName(span: SpanSummary): string {
  const otlpName = span.attributes["otel.name"];
  if (span.kind === "llm") return [span.operation, span.model ?? span.response_model].filter(Boolean).join(" · ") || "LLM call";
  return typeof otlpName === "string" ? otlpName : (span.operation ?? span.kind);
}

// A Bedrock model id as the client may send it: an ARN (its resource id follows the last "/"),
// then a cross-region profile's region ("us.") and the provider ("anthropic.").
const BEDROCK_ARN = /^arn:[^/]*\//;
const BEDROCK_REGION_AND_PROVIDER = /^(?:(?:us|eu|apac|us-gov|global)\.)?[a-z0-9-]+\.(?=.)/;

/**
 * The model as a narrow list column shows it. Bedrock ids drop their ARN, region and provider
 * prefixes: "arn:aws:bedrock:…:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0" and
 * "anthropic.claude-3-haiku-…" both begin "claude-3-haiku", where in ~16 characters every Claude
 * on Bedrock looked alike. Other vendors' names are shown as sent ("gpt-4.1" has a dot of its own).
 */
export function modelLabel(model: string, vendor: string | null | undefined): string {
  return vendor === "bedrock" ? model.replace(BEDROCK_ARN, "").replace(BEDROCK_REGION_AND_PROVIDER, "") : model;
}
