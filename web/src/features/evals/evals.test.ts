import { describe, expect, it } from "vitest";

import {
  bestIndex,
  describeFilter,
  diffWords,
  evaluatorColumns,
  exampleParams,
  formatScore,
  judgeParams,
  outputText,
  readParams,
  readTarget,
  runShares,
  scoreText,
  showsTtft,
  spanFilter,
  ttftText,
  EMPTY_FILTER,
} from "./evals";

describe("evaluator params", () => {
  it("starts each built-in with an example", () => {
    expect(JSON.parse(exampleParams("latency_threshold"))).toEqual({ max_ms: 2000 });
    expect(JSON.parse(exampleParams("some_plugin"))).toEqual({});
  });
  it("reads a JSON object, or says where it is wrong", () => {
    expect(readParams('{"threshold": 0.5}')).toEqual({ ok: true, value: { threshold: 0.5 } });
    expect(readParams("  ")).toEqual({ ok: true, value: {} });
    expect(readParams("[1]")).toMatchObject({ ok: false });
    const broken = readParams('{\n  "a": }');
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.error).toMatch(/^Params: line 2/);
  });
  it("builds an llm_judge from its template and labels", () => {
    expect(judgeParams("Is {{ output }} ok?", '{"yes": 1, "no": 0}')).toEqual({
      ok: true,
      value: { template: "Is {{ output }} ok?", labels: { yes: 1, no: 0 } },
    });
    expect(judgeParams("T", "")).toEqual({ ok: true, value: { template: "T" } });
    expect(judgeParams(" ", "{}")).toMatchObject({ ok: false });
    const bad = judgeParams("T", "{");
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/^Labels/);
  });
});

describe("rule filters", () => {
  it("keeps only what was filled in; tags split on commas", () => {
    expect(spanFilter({ ...EMPTY_FILTER, model: " gpt-4o ", tags: "support, eu,", status: "error" })).toEqual({
      model: "gpt-4o",
      tags: ["support", "eu"],
      status: "error",
    });
    expect(spanFilter(EMPTY_FILTER)).toEqual({});
  });
  it("reads as one line", () => {
    expect(describeFilter({ model: "gpt-4o", tags: ["a", "b"] })).toBe("model=gpt-4o · tags=a,b");
    expect(describeFilter({ tags: [] })).toBe("every call");
  });
});

describe("readTarget", () => {
  it("splits upstream:model at the first colon", () => {
    expect(readTarget("openai:gpt-4o-mini")).toEqual({ ok: true, value: { upstream: "openai", model: "gpt-4o-mini" } });
    expect(readTarget("azure:ft:my-model")).toEqual({ ok: true, value: { upstream: "azure", model: "ft:my-model" } });
    expect(readTarget("gpt-4o")).toMatchObject({ ok: false });
    expect(readTarget("openai:")).toMatchObject({ ok: false });
  });
});

describe("runShares", () => {
  it("splits the items into ok, errors, running and pending", () => {
    expect(runShares({ item_count: 10, done: 6, errors: 1, running: 2, pending: 2 })).toEqual({
      ok: 0.5,
      errors: 0.1,
      running: 0.2,
      pending: 0.2,
    });
    expect(runShares({ item_count: 0, done: 0, errors: 0, running: 0, pending: 0 }).ok).toBe(0);
  });
});

describe("scores", () => {
  const score = { evaluator_id: "e", evaluator: "e", explanation: "", value: null };
  it("reads labels first, then numbers, errors as such", () => {
    expect(scoreText({ ...score, score: 1, label: "pass", error: null })).toBe("pass");
    expect(scoreText({ ...score, score: 0.8333333, label: null, error: null })).toBe("0.833");
    expect(scoreText({ ...score, score: null, label: null, error: "no label" })).toBe("error");
    expect(scoreText(undefined)).toBe("—");
  });
  it("formats figures briefly", () => {
    expect(formatScore(1)).toBe("1");
    expect(formatScore(0.5)).toBe("0.5");
    expect(formatScore(12.345)).toBe("12.3");
    expect(formatScore(null)).toBe("—");
  });
  it("lists the evaluators of every run once", () => {
    const total = (id: string) => ({
      evaluator_id: id,
      evaluator: `name-${id}`,
      kind: "code" as const,
      score_kind: "categorical",
      count: 1,
      mean: 1,
      errors: 0,
      labels: {},
    });
    expect(evaluatorColumns([{ scores: [total("a")] }, { scores: [total("b"), total("a")] }])).toEqual([
      { id: "a", name: "name-a" },
      { id: "b", name: "name-b" },
    ]);
  });
  it("finds the best run, or none when all tie", () => {
    expect(bestIndex([0.5, 0.9, null], true)).toBe(1);
    expect(bestIndex([0.02, 0.01], false)).toBe(1);
    expect(bestIndex([1, 1], true)).toBe(-1);
    expect(bestIndex([null, null], true)).toBe(-1);
  });
});

describe("diffWords", () => {
  it("marks the words not in the other output", () => {
    expect(diffWords("the cat sat down", "the dog sat down")).toEqual([
      { text: "the ", changed: false },
      { text: "dog ", changed: true },
      { text: "sat down", changed: false },
    ]);
  });
  it("keeps equal outputs whole", () => {
    expect(diffWords("same", "same")).toEqual([{ text: "same", changed: false }]);
    expect(diffWords("", "")).toEqual([]);
  });
  it("marks additions at the end", () => {
    expect(diffWords("a b", "a b c d")).toEqual([
      { text: "a b ", changed: false },
      { text: "c d", changed: true },
    ]);
  });
  it("reads outputs as text", () => {
    expect(outputText("hi")).toBe("hi");
    expect(outputText(null)).toBe("");
    expect(outputText({ a: 1 })).toBe('{\n  "a": 1\n}');
  });
});

describe("time to first token", () => {
  const streamed = { target: { stream: true }, ttft_p50_ms: 95, ttft_p95_ms: 1480.4 };
  const plain = { target: { stream: false }, ttft_p50_ms: null, ttft_p95_ms: null };
  it("reads p50 / p95 like latency, and a dash for a run that was not streamed", () => {
    expect(ttftText(streamed)).toBe("95 ms / 1.48 s");
    expect(ttftText(plain)).toBe("—");
    expect(ttftText({ ttft_p50_ms: 0.5, ttft_p95_ms: null })).toBe("0.50 ms / —");
  });
  it("shows items' TTFT only when a run compared was streamed", () => {
    expect(showsTtft([plain, streamed])).toBe(true);
    expect(showsTtft([plain, plain])).toBe(false);
    // A streamed run with no answer yet has no figures, but its items will.
    expect(showsTtft([plain, { ...plain, target: { stream: true } }])).toBe(true);
    expect(showsTtft([plain, { ...plain, target: {} }])).toBe(false);
  });
});
