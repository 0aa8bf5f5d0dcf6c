import { describe, expect, it } from "vitest";

import { ProblemError } from "../../api/problem";
import { embedderNote, explainEmbeddingProblem, similarityPercent, similarityShare } from "./similar";

describe("similarity", () => {
  it("reads as a share of a bar, clamped to 0..1", () => {
    expect(similarityShare(0.42)).toBe(0.42);
    expect(similarityShare(-0.3)).toBe(0);
    expect(similarityShare(1.0000001)).toBe(1);
    expect(similarityShare(Number.NaN)).toBe(0);
  });
  it("reads as a percent", () => {
    expect(similarityPercent(0.873)).toBe("87%");
    expect(similarityPercent(1)).toBe("100%");
    expect(similarityPercent(0.001)).toBe("<1%");
    expect(similarityPercent(-0.5)).toBe("0%");
  });
  it("notes what the hashed embedder compares", () => {
    expect(embedderNote("hashed")).toBe("similar wording, not meaning");
    expect(embedderNote("hashed-v1")).toBe("similar wording, not meaning");
    expect(embedderNote("hashedness")).toBeNull();
    expect(embedderNote("upstream")).toBeNull();
    expect(embedderNote(null)).toBeNull();
  });
});

describe("explainEmbeddingProblem", () => {
  it("says how to turn embeddings on for a 409", () => {
    const explained = explainEmbeddingProblem(new ProblemError(409, "Embeddings are off", "set it"));
    expect(explained?.title).toBe("Embeddings are off");
    expect(explained?.text).toContain("embeddings.enabled: true");
  });
  it("says there is no prompt text for a 422", () => {
    const explained = explainEmbeddingProblem(new ProblemError(422, "Nothing to compare", "the span has no input text"));
    expect(explained?.text).toContain("no prompt text");
    expect(explained?.text).toContain("the span has no input text");
  });
  it("leaves other errors to the error box", () => {
    expect(explainEmbeddingProblem(new ProblemError(500, "Oops", ""))).toBeNull();
    expect(explainEmbeddingProblem(new Error("x"))).toBeNull();
  });
});
