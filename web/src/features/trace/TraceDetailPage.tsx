import { lazy, type ReactNode, Suspense, useEffect, useMemo, useRef, useState } from "react";
import { Link, useLocation, useNavigate, useParams, useSearchParams } from "react-router";

import type { SpanDetail } from "../../api/types";
import { FlagBadges, StatusBadge } from "../../components/badges";
import { CopyButton } from "../../components/CopyButton";
import { ErrorBox, Spinner } from "../../components/feedback";
import { formatCostExact, formatCount, formatDuration, formatTimestamp } from "../../components/format";
import { AnnotatePanel } from "../annotation/AnnotatePanel";
import { useScoreConfigs } from "../annotation/queries";
import { configsToScore } from "../annotation/scoring";
import { chordPending, isTyping } from "../layout/shortcuts";
import { Conversation } from "./Conversation";
import { Findings } from "./Findings";
import { locate } from "./highlight";
import { JsonView } from "./JsonView";
import { useConversation, useSpan, useTrace } from "./queries";
import { SpanTree } from "./SpanTree";
import { spanName } from "../traces/names";
import { SimilarPanel } from "../similar/SimilarPanel";

const TABS = ["conversation", "request", "response", "findings", "attributes"] as const;
type Tab = (typeof TABS)[number];
const AddToDatasetDialog = lazy(() =>
  import("../datasets/AddToDatasetDialog").then((m) => ({ default: m.AddToDatasetDialog })),
);
const AddToQueueDialog = lazy(() =>
  import("../annotation/AddToQueueDialog").then((m) => ({ default: m.AddToQueueDialog })),
);

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
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  // The panel's state lives in the URL: a reload or a shared link keeps it open.
  const annotating = params.get("annotate") === "1";
  const similar = params.get("similar") === "1";
  const setFlag = (name: "annotate" | "similar", open: boolean) => {
    const next = new URLSearchParams(params);
    if (open) next.set(name, "1");
    else next.delete(name);
    setParams(next, { replace: true, state: location.state });
  };
  const setAnnotating = (open: boolean) => setFlag("annotate", open);
  const setSimilar = (open: boolean) => setFlag("similar", open);
  const [dialog, setDialog] = useState<"dataset" | "queue" | null>(null);
  const toggleSimilar = useRef(() => {});
  toggleSimilar.current = () => setSimilar(!similar);
  const configs = useScoreConfigs();
  const conversation = useConversation(span.span_id);
  const trace = useTrace(span.trace_id);
  const located = useMemo(
    () => locate(span.findings, span.request_body, span.response_body),
    [span.findings, span.request_body, span.response_body],
  );
  useEffect(() => {
    // While the annotate panel is open, digits score instead.
    if (annotating) return;
    const onKey = (event: KeyboardEvent) => {
      if (isTyping(event.target) || event.metaKey || event.ctrlKey || event.altKey || chordPending()) return;
      if (document.querySelector(".modal")) return;
      if (event.key === "f") {
        toggleSimilar.current();
        return;
      }
      if (!/^[1-9]$/.test(event.key)) return;
      const next = TABS[Number(event.key) - 1];
      if (next) setTab(next);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [annotating]);
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
          <button
            type="button"
            className={`btn ${annotating ? "btn-pressed" : ""}`}
            aria-pressed={annotating}
            onClick={() => setAnnotating(!annotating)}
          >
            Annotate
          </button>
          <button type="button" className="btn" onClick={() => setDialog("dataset")}>
            Add to dataset
          </button>
          <button type="button" className="btn" onClick={() => setDialog("queue")}>
            Add to queue
          </button>
          <button
            type="button"
            className={`btn ${similar ? "btn-pressed" : ""}`}
            aria-pressed={similar}
            title="Calls with the nearest prompts (f)"
            onClick={() => setSimilar(!similar)}
          >
            Find similar
          </button>
        </div>
      </header>
      <Suspense fallback={null}>
        {dialog === "dataset" ? <AddToDatasetDialog spanIds={[span.span_id]} onClose={() => setDialog(null)} /> : null}
        {dialog === "queue" ? <AddToQueueDialog spanIds={[span.span_id]} onClose={() => setDialog(null)} /> : null}
      </Suspense>
      <div className={annotating ? "with-side" : undefined}>
        <div className="side-main">
          {span.error ? <div className="note error">{span.error}</div> : null}
          {similar ? <SimilarPanel spanId={span.span_id} onClose={() => setSimilar(false)} /> : null}
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
        </div>
        {annotating ? (
          <aside className="side-panel">
            {configs.isError ? <ErrorBox error={configs.error} /> : null}
            {configs.data ? (
              <AnnotatePanel spanId={span.span_id} configs={configsToScore(configs.data)} keys={!dialog} />
            ) : (
              <Spinner />
            )}
          </aside>
        ) : null}
      </div>
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
