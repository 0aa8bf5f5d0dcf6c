import { describe, expect, it } from "vitest";

import type { GuardrailFinding } from "../../api/types";
import { excerpt, findingsFor, locate, parsePath, resolvePath, segments, utf16Index } from "./highlight";

function finding(start: number, end: number, extra: Partial<GuardrailFinding> = {}): GuardrailFinding {
  return {
    policy: "p",
    phase: "input",
    detector: "pii",
    category: "EMAIL",
    score: 1,
    action: "flag",
    field: "messages[0].content",
    start,
    end,
    ...extra,
  };
}

describe("paths", () => {
  const body = { messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }], system: "s" };

  it("parses the findings' path form", () => {
    expect(parsePath("messages[1].content[0].text")).toEqual(["messages", 1, "content", 0, "text"]);
    expect(parsePath("body")).toEqual([]);
  });

  it("resolves strings and refuses wrong shapes", () => {
    expect(resolvePath(body, "messages[0].content[0].text")).toBe("hi");
    expect(resolvePath(body, "system")).toBe("s");
    expect(resolvePath(body, "messages.content")).toBeUndefined();
    expect(resolvePath(body, "messages[5].content")).toBeUndefined();
    expect(resolvePath("whole", "body")).toBe("whole");
  });
});

describe("offsets", () => {
  it("converts code points to UTF-16 indexes", () => {
    const text = "😀 mail a@b.co";
    expect(utf16Index(text, 0)).toBe(0);
    expect(utf16Index(text, 1)).toBe(2);
    expect(utf16Index(text, 100)).toBe(text.length);
    const [seg0, seg1] = segments(text, [finding(7, 13)]);
    expect(seg0?.text).toBe("😀 mail ");
    expect(seg1?.text).toBe("a@b.co");
  });

  it("marks overlapping findings and keeps every character", () => {
    const text = "0123456789";
    const parts = segments(text, [finding(2, 6), finding(4, 8, { category: "PHONE" })]);
    expect(parts.map((part) => part.text)).toEqual(["01", "23", "45", "67", "89"]);
    expect(parts.map((part) => part.findings.length)).toEqual([0, 1, 2, 1, 0]);
    expect(parts.map((part) => part.text).join("")).toBe(text);
  });

  it("ignores empty or out-of-range findings", () => {
    expect(segments("abc", [finding(5, 9)])).toEqual([{ text: "abc", findings: [] }]);
  });
});

describe("locate", () => {
  it("finds the scanned string in the body of the finding's phase", () => {
    const request = { messages: [{ role: "user", content: "write to a@b.co" }] };
    const response = { choices: [{ message: { content: "ok" } }] };
    const located = locate(
      [finding(9, 15), finding(0, 2, { phase: "output", field: "choices[0].message.content" })],
      request,
      response,
    );
    expect(located.map((entry) => entry.text)).toEqual(["write to a@b.co", "ok"]);
    expect(findingsFor("write to a@b.co", located)).toHaveLength(1);
    expect(excerpt("write to a@b.co", finding(9, 15), 4)).toEqual(["… to ", "a@b.co", ""]);
  });
});
