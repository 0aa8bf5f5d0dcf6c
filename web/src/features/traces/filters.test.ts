import { describe, expect, it } from "vitest";

import {
  activeFilterCount,
  apiQuery,
  EMPTY_FILTERS,
  filtersFromSearch,
  parseTags,
  searchFromFilters,
  type TraceFilters,
} from "./filters";

describe("filters ↔ URL", () => {
  it("defaults leave the URL empty", () => {
    expect(searchFromFilters(EMPTY_FILTERS).toString()).toBe("");
    expect(filtersFromSearch(new URLSearchParams())).toEqual(EMPTY_FILTERS);
  });

  it("round-trips every field, tags repeated", () => {
    const filters: TraceFilters = {
      ...EMPTY_FILTERS,
      q: "refund policy",
      upstream: "openai",
      model: "gpt-4o-mini",
      status: "error",
      session_id: "s-1",
      user_id: "u 9",
      tags: ["prod", "eu"],
      guardrail_category: "EMAIL",
      score_config: "accuracy",
      score_min: "3",
      score_max: "4.5",
      score_label: "",
      range: "24h",
      live: true,
    };
    const search = searchFromFilters(filters);
    expect(search.getAll("tag")).toEqual(["prod", "eu"]);
    expect(filtersFromSearch(new URLSearchParams(search.toString()))).toEqual(filters);
  });

  it("drops unknown values instead of sending them to the API", () => {
    const filters = filtersFromSearch(new URLSearchParams("status=weird&range=2y&tag=&tag=%20a%20"));
    expect(filters.status).toBe("");
    expect(filters.range).toBe("all");
    expect(filters.tags).toEqual(["a"]);
  });

  it("keeps custom bounds only for a custom range, and never tails a custom range", () => {
    const custom = filtersFromSearch(new URLSearchParams("range=custom&since=2026-11-01T00:00&live=1"));
    expect(custom.since).toBe("2026-11-01T00:00");
    expect(custom.live).toBe(false);
    const preset = filtersFromSearch(new URLSearchParams("range=1h&since=2026-11-01T00:00"));
    expect(preset.since).toBe("");
  });
});

describe("the score filter", () => {
  it("keeps bounds and label only with a score config, and only numbers as bounds", () => {
    expect(filtersFromSearch(new URLSearchParams("score_min=1&score_label=good")).score_min).toBe("");
    const filters = filtersFromSearch(new URLSearchParams("score=tone&score_label=good&score_min=x&score_max=2"));
    const { score_config, score_label, score_min, score_max } = filters;
    expect([score_config, score_label, score_min, score_max]).toEqual(["tone", "good", "", "2"]);
    const unusable = searchFromFilters({ ...EMPTY_FILTERS, score_config: "tone", score_min: "abc" });
    expect(unusable.toString()).toBe("score=tone");
  });

  it("sends the bounds as numbers", () => {
    const query = apiQuery({ ...EMPTY_FILTERS, score_config: "accuracy", score_min: "0.5", score_max: "" }, 0);
    expect(query).toEqual({ score_config: "accuracy", score_min: 0.5 });
    expect(apiQuery({ ...EMPTY_FILTERS, score_min: "1" }, 0)).toEqual({});
    expect(activeFilterCount({ ...EMPTY_FILTERS, score_config: "tone", score_label: "good" })).toBe(1);
  });
});

describe("apiQuery", () => {
  const now = Date.UTC(2026, 10, 27, 12, 0, 0);

  it("turns a preset into `since` counted back from now", () => {
    const query = apiQuery({ ...EMPTY_FILTERS, range: "1h", model: "m" }, now);
    expect(query).toEqual({ model: "m", since: "2026-11-27T11:00:00.000Z" });
  });

  it("sends nothing for all time and empty fields", () => {
    expect(apiQuery(EMPTY_FILTERS, now)).toEqual({});
  });

  it("converts custom local bounds to ISO and skips invalid ones", () => {
    const query = apiQuery({ ...EMPTY_FILTERS, range: "custom", since: "2026-11-01T08:30", until: "nonsense" }, now);
    expect(query.since).toBe(new Date("2026-11-01T08:30").toISOString());
    expect(query.until).toBeUndefined();
  });

  it("counts narrowing filters and parses tag lists", () => {
    expect(activeFilterCount({ ...EMPTY_FILTERS, model: "m", tags: ["a", "b"], q: "x" })).toBe(3);
    expect(parseTags(" a, b ,,a ")).toEqual(["a", "b"]);
  });
});
