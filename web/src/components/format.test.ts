import { describe, expect, it } from "vitest";

import {
  formatBytes,
  formatCost,
  formatCostExact,
  formatCount,
  formatDuration,
  formatRelative,
  formatTime,
  plural,
} from "./format";

describe("format", () => {
  it("durations pick a unit", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(0)).toBe("0 ms");
    expect(formatDuration(0.5)).toBe("0.50 ms");
    expect(formatDuration(412.4)).toBe("412 ms");
    expect(formatDuration(1534)).toBe("1.53 s");
    expect(formatDuration(12_345)).toBe("12.3 s");
    expect(formatDuration(125_000)).toBe("2m 5s");
  });

  it("costs keep small amounts distinguishable and never show unknown as $0", () => {
    expect(formatCost(null)).toBe("—");
    expect(formatCost(0)).toBe("$0");
    expect(formatCost(0.000123)).toBe("$0.000123");
    expect(formatCost(0.0421)).toBe("$0.0421");
    expect(formatCost(12.3)).toBe("$12.30");
    expect(formatCost(0.0000054)).toBe("$0.000005");
    expect(formatCost(0.0000001)).toBe("<$0.000001");
    expect(formatCostExact(0.0000054)).toBe("$0.0000054");
    expect(formatCostExact(0.00001)).toBe("$0.00001");
  });

  it("counts and sizes abbreviate", () => {
    expect(formatCount(1234)).toBe("1,234");
    expect(formatCount(12_345)).toBe("12.3k");
    expect(formatCount(2_500_000)).toBe("2.50M");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MB");
  });

  it("counts things in words", () => {
    expect(plural(1, "item")).toBe("1 item");
    expect(plural(0, "session")).toBe("0 sessions");
    expect(plural(1234, "call")).toBe("1,234 calls");
  });

  it("times are short for today", () => {
    const now = new Date(2026, 10, 27, 15, 0, 0);
    expect(formatTime(new Date(2026, 10, 27, 14, 3, 7).toISOString(), now)).toBe("14:03:07");
    expect(formatTime(new Date(2026, 10, 2, 9, 5, 0).toISOString(), now)).toBe("Nov 2 09:05");
    expect(formatTime(new Date(2025, 0, 2, 9, 5, 0).toISOString(), now)).toBe("2025-01-02 09:05");
    expect(formatRelative(new Date(1000).toISOString(), 1000 + 90_000)).toBe("1m ago");
  });
});
