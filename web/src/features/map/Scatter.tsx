import { useEffect, useMemo, useRef, useState } from "react";

import type { MapPoint } from "../../api/types";
import { clusterColor, fitView, nearest, type XY } from "./map";

const HEIGHT = 560;
const RADIUS = 3.5;

/** Points on a canvas (thousands draw in a few ms), colored by cluster; hover shows the prompt, click opens it. */
export function Scatter({
  points,
  focus,
  onOpen,
}: {
  points: readonly MapPoint[];
  /** A cluster to bring forward (the others fade), or null. */
  focus: number | null;
  onOpen: (point: MapPoint) => void;
}) {
  const frame = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(800);
  const [hover, setHover] = useState<number>(-1);

  useEffect(() => {
    const element = frame.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setWidth(Math.max(element.clientWidth, 200)));
    observer.observe(element);
    setWidth(Math.max(element.clientWidth, 200));
    return () => observer.disconnect();
  }, []);

  const screen: XY[] = useMemo(() => {
    const view = fitView(points, width, HEIGHT, 18);
    return points.map((point) => view.toScreen(point));
  }, [points, width]);

  useEffect(() => {
    const element = canvas.current;
    const context = element?.getContext("2d");
    if (!element || !context) return;
    const ratio = window.devicePixelRatio || 1;
    element.width = Math.round(width * ratio);
    element.height = Math.round(HEIGHT * ratio);
    element.style.height = `${HEIGHT}px`;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, HEIGHT);
    // Faded clusters first, so the focused one draws on top.
    const order = points.map((_, index) => index);
    if (focus !== null) order.sort((a, b) => Number(points[a]?.cluster === focus) - Number(points[b]?.cluster === focus));
    for (const index of order) {
      const point = points[index];
      const at = screen[index];
      if (!point || !at) continue;
      context.globalAlpha = focus === null || point.cluster === focus ? 0.8 : 0.12;
      context.fillStyle = clusterColor(point.cluster);
      context.beginPath();
      context.arc(at.x, at.y, RADIUS, 0, Math.PI * 2);
      context.fill();
    }
    context.globalAlpha = 1;
    const hovered = screen[hover];
    if (hovered) {
      context.strokeStyle = "#111827";
      context.lineWidth = 1.5;
      context.beginPath();
      context.arc(hovered.x, hovered.y, RADIUS + 3, 0, Math.PI * 2);
      context.stroke();
    }
  }, [points, screen, width, focus, hover]);

  const locate = (event: React.MouseEvent<HTMLCanvasElement>): number => {
    const box = event.currentTarget.getBoundingClientRect();
    return nearest(screen, event.clientX - box.left, event.clientY - box.top, 8);
  };
  const hoveredPoint = points[hover];
  const hoveredAt = screen[hover];
  return (
    <div className="map-frame" ref={frame}>
      <canvas
        ref={canvas}
        data-testid="prompt-map"
        data-points={points.length}
        role="img"
        aria-label={`Map of ${points.length} prompts`}
        className={hover >= 0 ? "pointing" : undefined}
        onMouseMove={(event) => setHover(locate(event))}
        onMouseLeave={() => setHover(-1)}
        onClick={(event) => {
          const index = locate(event);
          const point = points[index];
          if (point) onOpen(point);
        }}
      />
      {hoveredPoint && hoveredAt ? (
        <div
          className="map-tooltip"
          role="tooltip"
          style={{
            left: Math.min(hoveredAt.x + 12, Math.max(width - 330, 0)),
            top: hoveredAt.y + 12 > HEIGHT - 80 ? hoveredAt.y - 70 : hoveredAt.y + 12,
          }}
        >
          <div>{hoveredPoint.input_preview || <span className="muted">no preview</span>}</div>
          <div className="muted small">cluster {hoveredPoint.cluster + 1} · click to open</div>
        </div>
      ) : null}
    </div>
  );
}
