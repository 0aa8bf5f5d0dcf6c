import { useQuery, type UseQueryResult } from "@tanstack/react-query";
import { useMemo } from "react";
import { useSearchParams } from "react-router";

import { api, unwrap } from "../../api/client";
import type { FindingSeries, SeriesPoint, TimeSeries } from "../../api/types";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatCost, formatCount, formatDuration } from "../../components/format";
import { byGroup, byMeasure, findingsByCategory, totals } from "./series";
import { TimeChart } from "./TimeChart";

const RANGES = { "1h": 3600e3, "24h": 86_400e3, "7d": 7 * 86_400e3, "30d": 30 * 86_400e3 } as const;
type Range = keyof typeof RANGES;
const GROUPS = ["none", "model", "upstream", "project"] as const;
type Group = (typeof GROUPS)[number];

const count = (value: number) => formatCount(Math.round(value));
const ms = (value: number) => formatDuration(value);
const usd = (value: number) => formatCost(value);

export function DashboardsPage() {
  const [params, setParams] = useSearchParams();
  const range: Range = (params.get("range") as Range | null) ?? "24h";
  const rangeMs = RANGES[range] ?? RANGES["24h"];
  const group: Group = GROUPS.includes(params.get("group") as Group) ? (params.get("group") as Group) : "none";
  const bounds = useMemo(() => {
    const until = new Date();
    return { since: new Date(until.getTime() - rangeMs).toISOString(), until: until.toISOString() };
  }, [rangeMs]);
  const update = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    next.set(key, value);
    setParams(next, { replace: true });
  };

  const overall = useQuery({
    queryKey: ["stats", "overall", bounds],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/stats/timeseries", { params: { query: bounds }, signal })),
  });
  const grouped = useQuery({
    queryKey: ["stats", "grouped", bounds, group],
    enabled: group !== "none",
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/stats/timeseries", { params: { query: { ...bounds, group_by: group } }, signal })),
  });
  const findings = useQuery({
    queryKey: ["stats", "guardrails", bounds],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/stats/guardrails", { params: { query: bounds }, signal })),
  });

  return (
    <div className="page">
      <header className="page-header">
        <h1>Dashboards</h1>
        <div className="controls">
          <select aria-label="Time range" value={range} onChange={(e) => update("range", e.target.value)}>
            <option value="1h">Last hour</option>
            <option value="24h">Last 24 h</option>
            <option value="7d">Last 7 days</option>
            <option value="30d">Last 30 days</option>
          </select>
          <select aria-label="Group by" value={group} onChange={(e) => update("group", e.target.value)}>
            {GROUPS.map((name) => (
              <option key={name} value={name}>
                {name === "none" ? "No grouping" : `By ${name}`}
              </option>
            ))}
          </select>
        </div>
      </header>
      {overall.isPending ? (
        <Spinner label="Loading charts…" />
      ) : overall.isError ? (
        <ErrorBox error={overall.error} />
      ) : totals(overall.data).requests === 0 && !(findings.data?.points.length ?? 0) ? (
        <EmptyState title="No calls in this range">
          <p>Charts fill in as calls go through Glassgate. Pick a longer range, or send a first call (see Traces).</p>
        </EmptyState>
      ) : (
        <Charts overall={overall.data} grouped={group === "none" ? undefined : grouped.data} groupError={grouped.error} findings={findings} />
      )}
    </div>
  );
}

function Charts(props: {
  overall: TimeSeries;
  grouped: TimeSeries | undefined;
  groupError: Error | null;
  findings: UseQueryResult<FindingSeries>;
}) {
  const { overall, grouped, groupError, findings } = props;
  const sum = totals(overall);
  const source = grouped ?? overall;
  const columns = useMemo(() => {
    const pick = (key: keyof Pick<SeriesPoint, "requests" | "cost_usd">) => (point: SeriesPoint) => point[key];
    return {
      requests: byGroup(source, pick("requests"), 0),
      errors: grouped
        ? byGroup(grouped, (p) => p.errors + p.blocked + p.cancelled, 0)
        : byMeasure(overall, { errors: (p) => p.errors, blocked: (p) => p.blocked, cancelled: (p) => p.cancelled }, 0),
      latency: grouped
        ? byGroup(grouped, (p) => p.latency_ms.p95, null)
        : byMeasure(overall, { p50: (p) => p.latency_ms.p50, p95: (p) => p.latency_ms.p95, p99: (p) => p.latency_ms.p99 }, null),
      ttft: grouped
        ? byGroup(grouped, (p) => p.ttft_ms.p95, null)
        : byMeasure(overall, { p50: (p) => p.ttft_ms.p50, p95: (p) => p.ttft_ms.p95, p99: (p) => p.ttft_ms.p99 }, null),
      tokens: grouped
        ? byGroup(grouped, (p) => p.input_tokens + p.output_tokens, 0)
        : byMeasure(overall, { input: (p) => p.input_tokens, output: (p) => p.output_tokens }, 0),
      cost: byGroup(source, pick("cost_usd"), 0),
    };
  }, [overall, grouped, source]);
  const suffix = grouped ? " (p95 per group)" : "";
  return (
    <>
      <div className="tiles">
        <Tile label="Requests" value={formatCount(sum.requests)} />
        <Tile
          label="Errors"
          value={sum.errorRate === null ? "—" : `${(sum.errorRate * 100).toFixed(1)}%`}
          note={`${formatCount(sum.errors)} failed, blocked or cancelled`}
        />
        <Tile label="Latency p95" value={formatDuration(sum.p95LatencyMs)} />
        <Tile label="TTFT p95" value={formatDuration(sum.p95TtftMs)} note="streamed calls" />
        <Tile label="Tokens" value={formatCount(sum.tokens)} />
        <Tile
          label="Cost"
          value={formatCost(sum.costUsd)}
          note={sum.unpricedCalls ? `+ ${formatCount(sum.unpricedCalls)} unpriced calls` : undefined}
        />
      </div>
      {groupError ? <ErrorBox error={groupError} /> : null}
      <div className="charts">
        <TimeChart title="Requests" columns={columns.requests} format={count} bars={!grouped} integer />
        <TimeChart title="Errors, blocked and cancelled" columns={columns.errors} format={count} integer />
        <TimeChart title={`Latency${suffix}`} columns={columns.latency} format={ms} />
        <TimeChart title={`Time to first token${suffix}`} columns={columns.ttft} format={ms} />
        <TimeChart title="Tokens" columns={columns.tokens} format={count} integer />
        <TimeChart title="Cost (USD)" columns={columns.cost} format={usd} />
        {findings.isError ? (
          <ErrorBox error={findings.error} />
        ) : findings.data ? (
          <TimeChart title="Guardrail findings by category" columns={findingsByCategory(findings.data)} format={count} bars integer />
        ) : null}
      </div>
    </>
  );
}

function Tile({ label, value, note }: { label: string; value: string; note?: string | undefined }) {
  return (
    <div className="tile">
      <div className="tile-label">{label}</div>
      <div className="tile-value">{value}</div>
      {note ? <div className="tile-note muted">{note}</div> : null}
    </div>
  );
}
