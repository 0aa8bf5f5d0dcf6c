import { describe, expect, it } from "vitest";

import { modelLabel } from "./names";

describe("model labels in the trace list", () => {
  it("drops a Bedrock id's ARN, region and provider prefixes", () => {
    expect(modelLabel("anthropic.claude-3-haiku-20240307-v1:0", "bedrock")).toBe("claude-3-haiku-20240307-v1:0");
    expect(modelLabel("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "bedrock")).toBe(
      "claude-3-7-sonnet-20250219-v1:0",
    );
    expect(
      modelLabel(
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.meta.llama3-2-3b-instruct-v1:0",
        "bedrock",
      ),
    ).toBe("llama3-2-3b-instruct-v1:0");
    expect(modelLabel("amazon.titan-embed-text-v2:0", "bedrock")).toBe("titan-embed-text-v2:0");
    expect(modelLabel("arn:aws:bedrock:us-east-1:123456789012:imported-model/k2x9", "bedrock")).toBe("k2x9");
  });

  it("keeps a Bedrock name without a provider, and every other vendor's name, as sent", () => {
    expect(modelLabel("my-imported-model", "bedrock")).toBe("my-imported-model");
    expect(modelLabel("gpt-4.1", "openai")).toBe("gpt-4.1");
    expect(modelLabel("my.deployment", "azure")).toBe("my.deployment");
    expect(modelLabel("claude-sonnet-4-5", null)).toBe("claude-sonnet-4-5");
  });
});
