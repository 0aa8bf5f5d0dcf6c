import "uplot/dist/uPlot.min.css";

import { useEffect, useRef } from "react";
import uPlot from "uplot";

import { type Columns, PALETTE } from "./series";

interface Props {
  title: string;
  columns: Columns;
  format: (value: number) => string;
  /** Bars instead of lines (counts per interval). */
  bars?: boolean;
  /** Whole numbers on the axis (counts). */
  integer?: boolean;
  height?: number;
}

const AXIS = { stroke: "#6b7280", grid: { stroke: "#eef0f3", width: 1 }, ticks: { stroke: "#e5e7eb", width: 1 }, font: "11px system-ui, sans-serif" };

const INTEGER_STEPS = [1, 2, 5].flatMap((step) => [1, 10, 100, 1000, 10_000, 100_000, 1_000_000].map((scale) => step * scale)).sort((a, b) => a - b);

function hasIsolated(values: readonly (number | null)[]): boolean {
  return values.some((value, index) => value !== null && values[index - 1] == null && values[index + 1] == null);
}

/** One time-series chart (uPlot: a canvas, ~50 KB, fast with thousands of points). */
export function TimeChart({ title, columns, format, bars = false, integer = false, height = 180 }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = columns.lines.map((line) => line.label).join("\u0000");

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const barPaths = bars && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 40], gap: 1 }) : undefined;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height,
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { live: true },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      axes: [
        AXIS,
        {
          ...AXIS,
          values: (_u, values) => values.map((value) => format(value)),
          // Wide enough for the longest label, so "$0.000150" or "1.25 s" is never cut.
          size: (_u, values) => 24 + 7 * Math.max(2, ...(values ?? []).map((value) => value.length)),
          ...(integer ? { incrs: INTEGER_STEPS } : {}),
        },
      ],
      series: [
        { value: (_u, value) => (value === null ? "—" : new Date(value * 1000).toLocaleString()) },
        ...columns.lines.map((line, index): uPlot.Series => {
          const color = PALETTE[index % PALETTE.length] ?? "#4f46e5";
          return {
            label: line.label,
            stroke: color,
            width: 1.5,
            fill: bars ? `${color}cc` : columns.lines.length === 1 ? `${color}1a` : undefined,
            // A lone value between gaps draws nothing as a line: then show the points.
            points: { show: hasIsolated(line.values), size: 5 },
            spanGaps: false,
            value: (_u, value) => (value === null || value === undefined ? "—" : format(value)),
            ...(barPaths ? { paths: barPaths } : {}),
          };
        }),
      ],
    };
    const data: uPlot.AlignedData = [columns.x, ...columns.lines.map((line) => line.values)];
    const chart = new uPlot(options, data, element);
    plot.current = chart;
    const observer = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 200), height }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // The chart is rebuilt when its lines change; new values for the same lines only redraw.
  }, [labels, bars, integer, height, format]);

  useEffect(() => {
    plot.current?.setData([columns.x, ...columns.lines.map((line) => line.values)]);
  }, [columns]);

  return (
    <figure className="chart" data-testid="chart">
      <figcaption>{title}</figcaption>
      {columns.lines.length === 0 ? <div className="chart-empty muted">Nothing in this range.</div> : null}
      <div ref={host} className="chart-canvas" />
    </figure>
  );
}
