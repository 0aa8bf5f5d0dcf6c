/** The prompt map (pure): time presets, fitting points to a canvas, finding the point under the pointer. */
import { PALETTE } from "../dashboards/series";

export const RANGES = { "1h": 3600e3, "24h": 86_400e3, "7d": 7 * 86_400e3, "30d": 30 * 86_400e3, all: 0 } as const;
export type Range = keyof typeof RANGES;
export const RANGE_LABELS: Record<Range, string> = {
  "1h": "Last hour",
  "24h": "Last 24 h",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  all: "All time",
};

export function readRange(value: string | null): Range {
  return value !== null && value in RANGES ? (value as Range) : "7d";
}

/** The window's start as ISO 8601, or undefined for all time. */
export function sinceOf(range: Range, now: number = Date.now()): string | undefined {
  const span = RANGES[range];
  return span ? new Date(now - span).toISOString() : undefined;
}

/** A cluster's color; cluster ids past the palette wrap around. */
export function clusterColor(cluster: number): string {
  return PALETTE[((cluster % PALETTE.length) + PALETTE.length) % PALETTE.length] ?? "#64748b";
}

export interface XY {
  x: number;
  y: number;
}

export interface View {
  toScreen: (point: XY) => XY;
}

/**
 * Map data coordinates onto a `width` × `height` box with `pad` pixels around, keeping the
 * aspect ratio (distances mean the same across and down); y grows upwards as on a chart.
 */
export function fitView(points: readonly XY[], width: number, height: number, pad = 16): View {
  if (points.length === 0) return { toScreen: () => ({ x: width / 2, y: height / 2 }) };
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const point of points) {
    minX = Math.min(minX, point.x);
    maxX = Math.max(maxX, point.x);
    minY = Math.min(minY, point.y);
    maxY = Math.max(maxY, point.y);
  }
  const spanX = maxX - minX;
  const spanY = maxY - minY;
  const innerW = Math.max(width - 2 * pad, 1);
  const innerH = Math.max(height - 2 * pad, 1);
  const scale = spanX === 0 && spanY === 0 ? 1 : Math.min(spanX ? innerW / spanX : Infinity, spanY ? innerH / spanY : Infinity);
  const midX = (minX + maxX) / 2;
  const midY = (minY + maxY) / 2;
  return {
    toScreen: (point) => ({ x: width / 2 + (point.x - midX) * scale, y: height / 2 - (point.y - midY) * scale }),
  };
}

/** The index of the screen point nearest (x, y) within `radius` pixels, or -1. */
export function nearest(points: readonly XY[], x: number, y: number, radius = 8): number {
  let best = -1;
  let bestDistance = radius * radius;
  for (let index = 0; index < points.length; index += 1) {
    const point = points[index];
    if (!point) continue;
    const distance = (point.x - x) ** 2 + (point.y - y) ** 2;
    if (distance <= bestDistance) {
      best = index;
      bestDistance = distance;
    }
  }
  return best;
}
