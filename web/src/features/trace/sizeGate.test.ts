import { describe, expect, it } from "vitest";

import { gate, prettyJson, utf8Bytes, wrapRows } from "./sizeGate";

describe("gate", () => {
  it("shows small bodies whole", () => {
    expect(gate("abc", 10)).toEqual({ head: "abc", truncated: false, totalChars: 3 });
  });

  it("cuts big bodies at a nearby line break", () => {
    const text = `${"a".repeat(90)}\n${"b".repeat(50)}`;
    const gated = gate(text, 100);
    expect(gated.truncated).toBe(true);
    expect(gated.head).toBe("a".repeat(90));
    expect(gated.totalChars).toBe(141);
  });

  it("cuts mid-line when no break is near", () => {
    expect(gate("x".repeat(500), 100).head.length).toBe(100);
  });

  it("handles a 5 MB body quickly and bounds every row", () => {
    const body = { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:" + "A".repeat(5_000_000) } }] }] };
    const started = performance.now();
    const text = prettyJson(body);
    const rows = wrapRows(text, 160);
    const gated = gate(text);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(gated.head.length).toBeLessThanOrEqual(200_000);
    expect(Math.max(...rows.map((row) => row.length))).toBeLessThanOrEqual(160);
    expect(rows.join("").replace(/\s+/g, "").length).toBe(text.replace(/\s+/g, "").length);
  });
});

describe("wrapRows", () => {
  it("keeps short lines and indents continuations", () => {
    expect(wrapRows("ab\n  cdefghij", 8)).toEqual(["ab", "  cdefgh", "    ij"]);
  });
});

describe("prettyJson and utf8Bytes", () => {
  it("indents JSON and passes text through", () => {
    expect(prettyJson({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(prettyJson("plain")).toBe("plain");
    expect(prettyJson(undefined)).toBe("");
  });
  it("counts UTF-8 bytes", () => {
    expect(utf8Bytes("aé€😀")).toBe(1 + 2 + 3 + 4);
  });
});
