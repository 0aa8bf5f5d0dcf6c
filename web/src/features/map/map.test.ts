import { describe, expect, it } from "vitest";

import { clusterColor, fitView, nearest, readRange, sinceOf } from "./map";

describe("time range", () => {
  it("reads the URL's preset, 7 days by default", () => {
    expect(readRange("24h")).toBe("24h");
    expect(readRange("all")).toBe("all");
    expect(readRange("bogus")).toBe("7d");
    expect(readRange(null)).toBe("7d");
  });
  it("starts the window that long ago; all time has no start", () => {
    const now = Date.UTC(2025, 0, 2);
    expect(sinceOf("24h", now)).toBe("2025-01-01T00:00:00.000Z");
    expect(sinceOf("all", now)).toBeUndefined();
  });
});

describe("fitView", () => {
  it("fits the points inside the padding, keeping the aspect ratio, y up", () => {
    const view = fitView(
      [
        { x: -1, y: 0 },
        { x: 1, y: 0 },
        { x: 0, y: 0.5 },
      ],
      220,
      120,
      10,
    );
    expect(view.toScreen({ x: -1, y: 0 })).toEqual({ x: 10, y: 85 });
    expect(view.toScreen({ x: 1, y: 0 })).toEqual({ x: 210, y: 85 });
    expect(view.toScreen({ x: 0, y: 0.5 })).toEqual({ x: 110, y: 35 });
  });
  it("centres a single point", () => {
    expect(fitView([{ x: 3, y: 4 }], 100, 50).toScreen({ x: 3, y: 4 })).toEqual({ x: 50, y: 25 });
    expect(fitView([], 100, 50).toScreen({ x: 3, y: 4 })).toEqual({ x: 50, y: 25 });
  });
});

describe("nearest", () => {
  const points = [
    { x: 10, y: 10 },
    { x: 20, y: 10 },
  ];
  it("finds the closest point within the radius", () => {
    expect(nearest(points, 12, 11)).toBe(0);
    expect(nearest(points, 17, 10)).toBe(1);
    expect(nearest(points, 50, 50)).toBe(-1);
  });
});

describe("clusterColor", () => {
  it("wraps around the palette", () => {
    expect(clusterColor(0)).toBe(clusterColor(9));
    expect(clusterColor(1)).not.toBe(clusterColor(0));
  });
});
