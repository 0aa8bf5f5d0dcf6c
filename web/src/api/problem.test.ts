import { describe, expect, it } from "vitest";

import { ProblemError } from "./problem";

describe("ProblemError.from", () => {
  it("keeps the problem's field and line errors", () => {
    const problem = ProblemError.from(422, {
      title: "Invalid file",
      detail: "nothing was imported: line 2: input: missing",
      errors: [
        { line: 2, field: "input", message: "missing" },
        { field: null, message: "not JSON", line: 3 },
        "junk",
        { line: 4 },
      ],
    });
    expect(problem.title).toBe("Invalid file");
    expect(problem.errors).toEqual([
      { line: 2, field: "input", message: "missing" },
      { line: 3, field: null, message: "not JSON" },
    ]);
  });

  it("has no errors when the body has none", () => {
    expect(ProblemError.from(404, { title: "Not Found", detail: "x" }).errors).toEqual([]);
    expect(ProblemError.from(500, "oops").detail).toBe("oops");
  });
});
