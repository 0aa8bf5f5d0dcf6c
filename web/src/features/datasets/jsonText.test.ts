import { describe, expect, it } from "vitest";

import { glimpse, lineAndColumn, parseJson, readItem, toJsonText } from "./jsonText";

describe("JSON editors", () => {
  it("parses valid JSON", () => {
    expect(parseJson('{"a": [1, 2]}')).toEqual({ ok: true, value: { a: [1, 2] } });
    expect(toJsonText(undefined)).toBe("null");
    expect(toJsonText({ a: 1 })).toBe('{\n  "a": 1\n}');
  });

  it("says where the first mistake is", () => {
    const parsed = parseJson('{\n  "a": 1,\n}');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.line).toBe(3);
      expect(parsed.column).toBe(1);
      expect(parsed.error).not.toMatch(/position/);
    }
    const empty = parseJson("");
    expect(empty.ok).toBe(false);
  });

  it("counts lines and columns from 1", () => {
    expect(lineAndColumn("ab\ncd", 0)).toEqual({ line: 1, column: 1 });
    expect(lineAndColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
    expect(lineAndColumn("ab", 99)).toEqual({ line: 1, column: 3 });
  });

  it("reads an item: input required and not null, an empty expected output is null", () => {
    expect(readItem('{"q": 1}', "  ")).toEqual({ ok: true, item: { input: { q: 1 }, expected_output: null } });
    expect(readItem("null", "1")).toEqual({ ok: false, errors: { input: "The input cannot be null." } });
    const bad = readItem("{", "[1,");
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors.input).toMatch(/^Line 1, column/);
      expect(bad.errors.expected_output).toMatch(/^Line 1, column/);
    }
  });

  it("glimpses a conversation by its last user text", () => {
    const input = {
      messages: [
        { role: "system", parts: [{ type: "text", text: "Be brief." }] },
        { role: "user", parts: [{ type: "text", text: "What is\nthe refund policy?" }] },
      ],
    };
    expect(glimpse(input)).toBe("What is the refund policy?");
    expect(glimpse({ q: "x" })).toBe('{"q":"x"}');
    expect(glimpse("a".repeat(200), 10)).toBe("aaaaaaaaa…");
    expect(glimpse(null)).toBe("null");
  });
});
