import { describe, expect, it } from "vitest";

import { safeNext } from "./session";

describe("safeNext", () => {
  it("keeps paths inside the app", () => {
    expect(safeNext("/ui/traces/abc?x=1")).toBe("/ui/traces/abc?x=1");
  });
  it("refuses other origins, the login page and nothing", () => {
    expect(safeNext("//evil.example/ui/")).toBe("/ui/traces");
    expect(safeNext("https://evil.example")).toBe("/ui/traces");
    expect(safeNext("/ui/login")).toBe("/ui/traces");
    expect(safeNext(null)).toBe("/ui/traces");
  });
});
