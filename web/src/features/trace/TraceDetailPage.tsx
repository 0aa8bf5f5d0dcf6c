import { type ReactNode, useEffect, useMemo, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";

import type { SpanDetail } from "../../api/types";
import { FlagBadges, StatusBadge } from "../../components/badges";
import { CopyButton } from "../../components/CopyButton";
import { ErrorBox, Spinner } from "../../components/feedback";
import { formatCostExact, formatCount, formatDuration, formatTimestamp } from "../../components/format";
import { isTyping } from "../layout/shortcuts";
import { Conversation } from "./Conversation";
import { Findings } from "./Findings";
import { locate } from "./highlight";
import { JsonView } from "./JsonView";
import { useConversation, useSpan, useTrace } from "./queries";
import { SpanTree } from "./SpanTree";
import { spanName } from "../traces/names";

const TABS = ["conversation", "request", "response", "findings", "attributes"] as const;
type Tab = (typeof TABS)[number];

export function TraceDetailPage() {
  const { spanId = "" } = useParams();
  const span = useSpan(spanId);
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  const back = `/ui/traces${from ?? ""}`;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !isTyping(event.target) && !document.querySelector(".modal")) navigate(back);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [navigate, back]);
  return (
    <div className="page">
      <div className="breadcrumbs">
        <Link to={back}>← Traces</Link>
      </div>
      {span.isPending ? (
        <Spinner label="Loading the call…" />
      ) : span.isError ? (
        <ErrorBox error={span.error} />
      ) : (
        <SpanView span={span.data} />
      )}
    </div>
  );
}

function SpanView({ span }: { span: SpanDetail }) {
  const [tab, setTab] = useState<Tab>("conversation");
  const conversation = useConversation(span.span_id);
  const trace = useTrace(span.trace_id);
  const located = useMemo(
    () => locate(span.findings, span.request_body, span.response_body),
    [span.findings, span.request_body, span.response_body],
  );
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (isTyping(event.target) || event.metaKey || event.ctrlKey || event.altKey) return;
      const index = Number(event.key) - 1;
      const next = TABS[index];
      if (next) setTab(next);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const title = span.kind === "llm" ? (span.model ?? span.response_model ?? "LLM call") : spanName(span);
  const service = span.attributes["service.name"];
  const spans = trace.data?.spans ?? [];
  return (
    <>
      <header className="page-header detail-header">
        <h1>
          <span className="mono">{title}</span>
          <span className="muted">
            {" "}
            {span.upstream ? `via ${span.upstream}` : `${span.kind}${typeof service === "string" ? ` · ${service}` : ""}`}
          </span>
        </h1>
        <StatusBadge status={span.status} httpStatus={span.http_status} />
        <div className="actions">
          {/* Wired to the annotation and dataset APIs in the next round. */}
          <button type="button" className="btn" disabled title="Arrives with the annotation API">
            Annotate
          </button>
          <button type="button" className="btn" disabled title="Arrives with the datasets API">
            Add to dataset
          </button>
          <button type="button" className="btn" disabled title="Arrives with semantic search">
            Find similar
          </button>
        </div>
      </header>
      {span.error ? <div className="note error">{span.error}</div> : null}
      <Facts span={span} />
      {spans.length > 1 ? (
        <section className="panel">
          <h2>
            Trace <span className="muted small mono">{span.trace_id}</span>
          </h2>
          <SpanTree spans={spans} current={span.span_id} />
        </section>
      ) : null}
      <div className="tabs" role="tablist">
        {TABS.map((name, index) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={tab === name}
            className={tab === name ? "active" : ""}
            onClick={() => setTab(name)}
            title={`${index + 1}`}
          >
            {name === "findings" ? `Findings (${span.findings.length})` : name[0]?.toUpperCase() + name.slice(1)}
          </button>
        ))}
      </div>
      <section className="tab-panel" role="tabpanel">
        {tab === "conversation" ? (
          conversation.isPending ? (
            <Spinner />
          ) : conversation.isError ? (
            <ErrorBox error={conversation.error} />
          ) : (
            <>
              {span.findings.length ? <Findings located={located} /> : null}
              <Conversation data={conversation.data} located={located} />
            </>
          )
        ) : null}
        {tab === "request" ? <JsonView value={span.request_body} name={`${span.span_id}-request`} /> : null}
        {tab === "response" ? <JsonView value={span.response_body} name={`${span.span_id}-response`} /> : null}
        {tab === "findings" ? <Findings located={located} /> : null}
        {tab === "attributes" ? <JsonView value={span.attributes} name={`${span.span_id}-attributes`} /> : null}
      </section>
    </>
  );
}

function Facts({ span }: { span: SpanDetail }) {
  const tokens = [
    `${formatCount(span.input_tokens)} in`,
    `${formatCount(span.output_tokens)} out`,
    span.cached_tokens ? `${formatCount(span.cached_tokens)} cache read` : null,
    span.cache_write_tokens ? `${formatCount(span.cache_write_tokens)} cache write` : null,
    span.reasoning_tokens ? `${formatCount(span.reasoning_tokens)} reasoning` : null,
  ].filter(Boolean);
  return (
    <dl className="facts">
      <Fact label="Started">{formatTimestamp(span.started_at)}</Fact>
      <Fact label="Latency">{formatDuration(span.latency_ms)}</Fact>
      <Fact label="Time to first token">{span.streamed ? formatDuration(span.ttft_ms) : "not streamed"}</Fact>
      <Fact label="Tokens">
        {tokens.join(" · ")}
        {span.usage_estimated ? <span className="muted"> (estimated)</span> : null}
      </Fact>
      <Fact label="Cost">
        {span.cost_status === "unpriced" ? "unpriced model" : formatCostExact(span.cost_usd)}
        {span.price_version ? <span className="muted small"> · prices {span.price_version}</span> : null}
      </Fact>
      <Fact label="Model">
        <span className="mono">{span.model ?? "—"}</span>
        {span.response_model && span.response_model !== span.model ? (
          <span className="muted"> → {span.response_model}</span>
        ) : null}
      </Fact>
      <Fact label="Operation">
        {span.vendor ?? "—"} · {span.operation ?? span.kind}
        {span.http_status ? <span className="muted"> · HTTP {span.http_status}</span> : null}
      </Fact>
      <Fact label="Project">{span.project}</Fact>
      {span.session_id ? (
        <Fact label="Session">
          <Link to={`/ui/sessions/${encodeURIComponent(span.session_id)}`}>{span.session_id}</Link>
        </Fact>
      ) : null}
      {span.user_id ? (
        <Fact label="User">
          <Link to={`/ui/traces?user_id=${encodeURIComponent(span.user_id)}`}>{span.user_id}</Link>
        </Fact>
      ) : null}
      {span.tags.length ? (
        <Fact label="Tags">
          {span.tags.map((tag) => (
            <Link key={tag} className="chip" to={`/ui/traces?tag=${encodeURIComponent(tag)}`}>
              {tag}
            </Link>
          ))}
        </Fact>
      ) : null}
      {span.guardrail_categories.length ? (
        <Fact label="Guardrails">
          <FlagBadges categories={span.guardrail_categories} max={6} />
        </Fact>
      ) : null}
      <Fact label="Span">
        <span className="mono small">{span.span_id}</span> <CopyButton text={span.span_id} />
      </Fact>
    </dl>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}
