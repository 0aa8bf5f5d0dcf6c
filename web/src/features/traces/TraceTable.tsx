import { useWindowVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { Link } from "react-router";

import type { ListedSpan, ScoreSummary, SpanSummary } from "../../api/types";
import { FlagBadges, StatusBadge } from "../../components/badges";
import {
  formatCost,
  formatCostExact,
  formatCount,
  formatDuration,
  formatTime,
  formatTimestamp,
} from "../../components/format";
import { chordPending, isTyping } from "../layout/shortcuts";
import { modelLabel, spanName } from "./names";

const ROW_HEIGHT = 34;

interface Props {
  rows: ListedSpan[];
  fresh: ReadonlySet<string>;
  linkState: unknown;
  onOpen: (span: ListedSpan) => void;
  onNearEnd: () => void;
  picked: ReadonlySet<string>;
  /** Flip a row's checkbox; `range` when Shift was held (from the last one flipped). */
  onPick: (spanId: string, range: boolean) => void;
  onPickAll: () => void;
}

export function TraceTable({ rows, fresh, linkState, onOpen, onNearEnd, picked, onPick, onPickAll }: Props) {
  const bodyRef = useRef<HTMLTableSectionElement>(null);
  const [margin, setMargin] = useState(0);
  const [selected, setSelected] = useState(-1);
  // Where the rows start in the page: it moves when the filter bar above wraps or grows.
  useLayoutEffect(() => {
    const measure = () => {
      const top = bodyRef.current?.getBoundingClientRect().top ?? 0;
      setMargin(Math.round(top + window.scrollY));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(document.body);
    return () => observer.disconnect();
  }, []);
  const virtualizer = useWindowVirtualizer({
    count: rows.length,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
    scrollMargin: margin,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0];
  const last = items[items.length - 1];
  const paddingTop = first ? first.start - margin : 0;
  const paddingBottom = last ? virtualizer.getTotalSize() - (last.end - margin) : 0;
  const lastIndex = last?.index ?? -1;

  useEffect(() => {
    if (rows.length > 0 && lastIndex >= rows.length - 10) onNearEnd();
  }, [lastIndex, rows.length, onNearEnd]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target) || rows.length === 0) return;
      if (event.key === "j" || event.key === "k") {
        event.preventDefault();
        setSelected((current) => {
          const next = event.key === "j" ? Math.min(current + 1, rows.length - 1) : Math.max(current - 1, 0);
          virtualizer.scrollToIndex(next, { align: "auto" });
          return next;
        });
      } else if (event.key === "Enter" && selected >= 0 && rows[selected]) {
        event.preventDefault();
        onOpen(rows[selected]);
      } else if (event.key === "x" && selected >= 0 && rows[selected] && !chordPending()) {
        event.preventDefault();
        onPick(rows[selected].span_id, event.shiftKey);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [rows, selected, onOpen, onPick, virtualizer]);
  const allPicked = rows.length > 0 && rows.every((span) => picked.has(span.span_id));

  return (
    <table className="grid traces-table">
      <colgroup>
        <col style={{ width: 32 }} />
        <col style={{ width: 92 }} />
        <col style={{ width: 78 }} />
        <col style={{ width: 100 }} />
        <col style={{ width: 128 }} />
        <col />
        <col style={{ width: 74 }} />
        <col style={{ width: 74 }} />
        <col style={{ width: 100 }} />
        <col style={{ width: 104 }} />
        <col style={{ width: 108 }} />
        <col style={{ width: 112 }} />
      </colgroup>
      <thead>
        <tr>
          <th className="pick">
            <input
              type="checkbox"
              aria-label="Select every row shown"
              checked={allPicked}
              ref={(box) => {
                if (box) box.indeterminate = picked.size > 0 && !allPicked;
              }}
              onChange={onPickAll}
            />
          </th>
          <th>Time</th>
          <th>Status</th>
          <th>Upstream</th>
          <th>Model</th>
          <th>Input</th>
          <th className="num">Latency</th>
          <th className="num">TTFT</th>
          <th className="num" title="input → output tokens">Tokens</th>
          <th className="num">Cost</th>
          <th>Guardrails</th>
          <th>Scores</th>
        </tr>
      </thead>
      <tbody ref={bodyRef}>
        {paddingTop > 0 ? (
          <tr aria-hidden="true" style={{ height: paddingTop }}>
            <td colSpan={12} />
          </tr>
        ) : null}
        {items.map((item) => {
          const span = rows[item.index]!;
          const isPicked = picked.has(span.span_id);
          const classes = [
            item.index === selected ? "selected" : "",
            fresh.has(span.span_id) ? "fresh" : "",
            isPicked ? "picked" : "",
          ];
          return (
            <tr
              key={span.span_id}
              data-testid="trace-row"
              className={classes.join(" ")}
              style={{ height: ROW_HEIGHT }}
              onClick={(event) => {
                if ((event.target as HTMLElement).closest("a, .pick")) return;
                onOpen(span);
              }}
            >
              <td
                className="pick"
                onClick={(event) => {
                  // The whole cell is the target: a checkbox is small to hit.
                  if (event.target === event.currentTarget) onPick(span.span_id, event.shiftKey);
                }}
              >
                <input
                  type="checkbox"
                  aria-label={`Select ${span.span_id}`}
                  checked={isPicked}
                  onClick={(event) => onPick(span.span_id, event.shiftKey)}
                  onChange={() => undefined}
                />
              </td>
              <td title={formatTimestamp(span.started_at)}>
                <Link to={`/ui/traces/${span.span_id}`} state={linkState}>
                  {formatTime(span.started_at)}
                </Link>
              </td>
              <td>
                <StatusBadge status={span.status} httpStatus={span.http_status} />
              </td>
              <td className="ellipsis" title={span.upstream ?? undefined}>
                {span.upstream ?? <span className="muted">{span.kind}</span>}
              </td>
              <td className="ellipsis mono" title={modelTitle(span)}>
                {modelLabel(span.model ?? span.response_model ?? "—", span.vendor)}
              </td>
              <td className="ellipsis preview" title={span.input_preview ?? undefined}>
                {span.input_preview ??
                  (span.kind === "llm" ? (span.error ?? "") : <span className="muted">{spanName(span)}</span>)}
              </td>
              <td className="num">{formatDuration(span.latency_ms)}</td>
              <td className="num">{span.streamed ? formatDuration(span.ttft_ms) : <span className="muted">—</span>}</td>
              <td className="num" title={tokenTitle(span)}>
                {span.input_tokens === null && span.output_tokens === null
                  ? "—"
                  : `${formatCount(span.input_tokens)} → ${formatCount(span.output_tokens)}`}
                {span.usage_estimated ? <span className="muted" title="estimated"> ~</span> : null}
              </td>
              <td className="num" title={span.cost_usd === null ? (span.cost_status ?? undefined) : formatCostExact(span.cost_usd)}>
                {span.cost_status === "unpriced" ? <span className="muted">unpriced</span> : formatCost(span.cost_usd)}
              </td>
              <td>
                <FlagBadges categories={span.guardrail_categories} max={2} />
              </td>
              <td className="ellipsis" data-testid="scores" title={span.scores.map(scoreText).join("\n")}>
                {span.scores.length ? span.scores.map(scoreText).join(", ") : <span className="muted">—</span>}
              </td>
            </tr>
          );
        })}
        {paddingBottom > 0 ? (
          <tr aria-hidden="true" style={{ height: paddingBottom }}>
            <td colSpan={12} />
          </tr>
        ) : null}
      </tbody>
    </table>
  );
}

function modelTitle(span: SpanSummary): string {
  if (span.model && span.response_model && span.model !== span.response_model) {
    return `requested ${span.model}, served by ${span.response_model}`;
  }
  return span.model ?? span.response_model ?? "";
}

function tokenTitle(span: SpanSummary): string {
  const parts = [`input ${span.input_tokens ?? "—"}`, `output ${span.output_tokens ?? "—"}`];
  if (span.cached_tokens) parts.push(`cache read ${span.cached_tokens}`);
  if (span.cache_write_tokens) parts.push(`cache write ${span.cache_write_tokens}`);
  if (span.reasoning_tokens) parts.push(`reasoning ${span.reasoning_tokens}`);
  if (span.usage_estimated) parts.push("estimated with tiktoken");
  return parts.join(", ");
}

function scoreText(score: ScoreSummary): string {
  const label = score.kind === "boolean" && score.label ? (score.label === "true" ? "yes" : "no") : score.label;
  const value = score.kind === "numeric" ? (score.avg ?? score.value) : label;
  const shown = typeof value === "number" ? String(Math.round(value * 100) / 100) : (value ?? "—");
  return `${score.name}: ${shown}`;
}
