import { describe, expect, it } from "vitest";

import type { Annotation, ScoreConfig } from "../../api/types";
import {
  choiceForKey,
  choicesFor,
  configBody,
  configsToScore,
  EMPTY_CONFIG_FORM,
  mine,
  parseCategories,
  parseNumber,
  progressShares,
  step,
  valueText,
} from "./scoring";

function config(kind: ScoreConfig["kind"], extra: Partial<ScoreConfig> = {}): ScoreConfig {
  return {
    config_id: `c-${kind}`,
    name: kind,
    kind,
    min_value: null,
    max_value: null,
    categories: [],
    description: "",
    created_at: "2026-01-01T00:00:00Z",
    archived_at: null,
    ...extra,
  };
}

const tone = config("categorical", {
  categories: [
    { label: "bad", value: 0 },
    { label: "good", value: 1 },
  ],
});

describe("choices and keys", () => {
  it("numbers labels 1 to 9 and offers yes/no for booleans", () => {
    expect(choicesFor(tone).map((choice) => [choice.key, choice.value])).toEqual([
      ["1", "bad"],
      ["2", "good"],
    ]);
    expect(choiceForKey(config("boolean"), "2")?.value).toBe(false);
    expect(choiceForKey(tone, "3")).toBeUndefined();
    expect(choicesFor(config("numeric"))).toEqual([]);
  });

  it("reads numbers within the range", () => {
    const accuracy = { min_value: 0, max_value: 5 };
    expect(parseNumber(" 4.5 ", accuracy)).toEqual({ ok: true, value: 4.5 });
    expect(parseNumber("6", accuracy)).toEqual({ ok: false, error: "Enter a number from 0 to 5." });
    expect(parseNumber("abc", accuracy).ok).toBe(false);
    expect(parseNumber("", accuracy).ok).toBe(false);
    expect(parseNumber("-3", { min_value: null, max_value: null })).toEqual({ ok: true, value: -3 });
  });

  it("moves between fields without leaving the list", () => {
    expect(step(0, -1, 3)).toBe(0);
    expect(step(1, 1, 3)).toBe(2);
    expect(step(2, 1, 3)).toBe(2);
    expect(step(0, 1, 0)).toBe(0);
  });
});

describe("annotations", () => {
  const base = {
    span_id: "s",
    trace_id: null,
    comment: "",
    created_at: "",
    updated_at: "",
    value_number: null,
    value_text: null,
  };
  const annotations = [
    {
      ...base,
      annotation_id: "a1",
      config_id: "c1",
      config_name: "tone",
      kind: "categorical",
      value: "good",
      author: "ada",
      source: "human",
    },
    {
      ...base,
      annotation_id: "a2",
      config_id: "c1",
      config_name: "tone",
      kind: "categorical",
      value: "bad",
      author: "bob",
      source: "human",
    },
    {
      ...base,
      annotation_id: "a3",
      config_id: "c2",
      config_name: "ok",
      kind: "boolean",
      value: false,
      author: "ada",
      source: "llm",
    },
  ] as Annotation[];

  it("finds the caller's own human annotations", () => {
    expect([...mine(annotations, "ada").keys()]).toEqual(["c1"]);
    expect(mine(annotations, "ada").get("c1")?.annotation_id).toBe("a1");
  });

  it("shows values by kind", () => {
    expect(valueText(annotations[0]!)).toBe("good");
    expect(valueText(annotations[2]!)).toBe("No");
    expect(valueText({ kind: "numeric", value: 3.14159, value_number: 3.14159, value_text: null })).toBe("3.142");
  });

  it("scores a queue's configs in its order, never archived ones", () => {
    const archived = config("text", { config_id: "old", archived_at: "2026-01-02T00:00:00Z" });
    const configs = [tone, config("boolean"), archived];
    expect(configsToScore(configs).map((c) => c.config_id)).toEqual(["c-categorical", "c-boolean"]);
    expect(configsToScore(configs, ["c-boolean", "old", "c-categorical"]).map((c) => c.config_id)).toEqual([
      "c-boolean",
      "c-categorical",
    ]);
  });
});

describe("the score-config form", () => {
  it("reads labels with implicit or explicit values", () => {
    expect(parseCategories("bad, ok, good")).toEqual({
      ok: true,
      categories: [
        { label: "bad", value: 0 },
        { label: "ok", value: 1 },
        { label: "good", value: 2 },
      ],
    });
    expect(parseCategories("low=1\nhigh=10")).toEqual({
      ok: true,
      categories: [
        { label: "low", value: 1 },
        { label: "high", value: 10 },
      ],
    });
    expect(parseCategories("a, a")).toEqual({ ok: false, error: '"a" is there twice.' });
    expect(parseCategories("a=1, b=1").ok).toBe(false);
    expect(parseCategories("a=x").ok).toBe(false);
    expect(parseCategories(" , ").ok).toBe(false);
  });

  it("builds the create request for each kind", () => {
    expect(configBody({ ...EMPTY_CONFIG_FORM, name: " tone ", categories: "bad, good" })).toEqual({
      ok: true,
      body: {
        name: "tone",
        kind: "categorical",
        description: "",
        categories: [
          { label: "bad", value: 0 },
          { label: "good", value: 1 },
        ],
      },
    });
    expect(configBody({ ...EMPTY_CONFIG_FORM, name: "accuracy", kind: "numeric", min: "0", max: "5" })).toEqual({
      ok: true,
      body: { name: "accuracy", kind: "numeric", description: "", min_value: 0, max_value: 5 },
    });
    expect(configBody({ ...EMPTY_CONFIG_FORM, name: "n", kind: "numeric", min: "5", max: "1" }).ok).toBe(false);
    expect(configBody({ ...EMPTY_CONFIG_FORM, name: "done", kind: "boolean" })).toEqual({
      ok: true,
      body: { name: "done", kind: "boolean", description: "" },
    });
    expect(configBody({ ...EMPTY_CONFIG_FORM, kind: "text" })).toEqual({ ok: false, error: "Give the score a name." });
  });

  it("splits a queue's progress into bar shares", () => {
    expect(progressShares({ total: 4, completed: 1, skipped: 1, in_progress: 1, pending: 2 })).toEqual({
      completed: 25,
      skipped: 25,
      inProgress: 25,
      waiting: 25,
    });
    expect(progressShares({ total: 0, completed: 0, skipped: 0, in_progress: 0, pending: 0 }).waiting).toBe(0);
  });
});
