import "./annotation.css";

import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";

import type { ClaimedItem, SpanDetail } from "../../api/types";
import { StatusBadge } from "../../components/badges";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatDuration, formatTime, formatTimestamp } from "../../components/format";
import { chordPending, isTyping } from "../layout/shortcuts";
import { Conversation } from "../trace/Conversation";
import { locate } from "../trace/highlight";
import { useConversation } from "../trace/queries";
import { AnnotatePanel } from "./AnnotatePanel";
import { claimNext, type ItemAction, QUEUES_KEY, resolveItem, useQueue, useScoreConfigs } from "./queries";
import { ProgressBar } from "./QueuesPanel";
import { configsToScore } from "./scoring";

type Review =
  { kind: "loading" } | { kind: "item"; claimed: ClaimedItem } | { kind: "done" } | { kind: "error"; error: unknown };

/** Review mode: claim a queue's next call, score it beside its conversation, then complete or skip it. */
export function ReviewPage() {
  const { queueId = "" } = useParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const queue = useQueue(queueId);
  const configs = useScoreConfigs();
  const [review, setReview] = useState<Review>({ kind: "loading" });
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);

  const next = useCallback(async () => {
    setReview({ kind: "loading" });
    try {
      const claimed = await claimNext(queueId);
      setReview(claimed ? { kind: "item", claimed } : { kind: "done" });
    } catch (error) {
      setReview({ kind: "error", error });
    }
    void client.invalidateQueries({ queryKey: QUEUES_KEY });
  }, [queueId, client]);

  useEffect(() => {
    void next();
  }, [next]);

  const act = useCallback(
    async (action: ItemAction) => {
      if (busy) return;
      if (review.kind !== "item") {
        if (action === "release") navigate("/ui/annotation");
        return;
      }
      setBusy(true);
      setActionError(null);
      try {
        await resolveItem(queueId, review.claimed.item.span_id, action);
        if (action === "release") {
          void client.invalidateQueries({ queryKey: QUEUES_KEY });
          navigate("/ui/annotation");
        } else {
          await next();
        }
      } catch (error) {
        setActionError(error);
      } finally {
        setBusy(false);
      }
    },
    [busy, review, queueId, navigate, next, client],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return;
      if (event.defaultPrevented || chordPending() || document.querySelector(".modal")) return;
      const action: ItemAction | null =
        event.key === "n" || event.key === "Enter"
          ? "complete"
          : event.key === "s"
            ? "skip"
            : event.key === "Escape"
              ? "release"
              : null;
      if (action === null) return;
      event.preventDefault();
      void act(action);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [act]);

  const toScore = configsToScore(configs.data ?? [], queue.data?.config_ids ?? []);
  return (
    <div className="page">
      <div className="breadcrumbs">
        <Link to="/ui/annotation">← Annotation</Link>
      </div>
      <header className="review-header">
        <h1>{queue.data?.name ?? "Queue"}</h1>
        {queue.data ? (
          <>
            <ProgressBar progress={queue.data.progress} />
            <span className="muted">
              {queue.data.progress.completed + queue.data.progress.skipped} of {queue.data.progress.total} reviewed
            </span>
          </>
        ) : null}
        {review.kind === "item" ? (
          <div className="actions">
            <button type="button" className="btn" disabled={busy} onClick={() => void act("release")} title="Esc">
              Release & leave <kbd>Esc</kbd>
            </button>
            <button type="button" className="btn" disabled={busy} onClick={() => void act("skip")} title="s">
              Skip <kbd>s</kbd>
            </button>
            <button
              type="button"
              className="btn btn-primary"
              disabled={busy}
              onClick={() => void act("complete")}
              title="n or Enter"
            >
              Complete & next <kbd>n</kbd>
            </button>
          </div>
        ) : null}
      </header>
      {actionError ? <ErrorBox error={actionError} /> : null}
      {queue.isError ? <ErrorBox error={queue.error} /> : null}
      {review.kind === "loading" ? (
        <Spinner label="Claiming the next call…" />
      ) : review.kind === "error" ? (
        <ErrorBox
          error={review.error}
          action={
            <button type="button" className="btn" onClick={() => void next()}>
              Try again
            </button>
          }
        />
      ) : review.kind === "done" ? (
        <EmptyState title="This queue is done for you">
          <p data-testid="queue-done">
            Nothing is left for you to review
            {queue.data
              ? `: ${queue.data.progress.completed} completed and ${queue.data.progress.skipped} skipped of ${queue.data.progress.total}`
              : ""}
            {queue.data && queue.data.progress.in_progress
              ? `; ${queue.data.progress.in_progress} are with other reviewers`
              : ""}
            .
          </p>
          <Link className="btn" to="/ui/annotation">
            Back to the queues
          </Link>
        </EmptyState>
      ) : (
        <div className="review" data-testid="review">
          <div className="review-main">
            {review.claimed.span ? (
              <ReviewedCall span={review.claimed.span} />
            ) : (
              <div className="note warning">
                This call is no longer stored (retention dropped it): skip it with <kbd>s</kbd>.
              </div>
            )}
          </div>
          <aside className="review-side">
            {review.claimed.span ? (
              configs.isPending ? (
                <Spinner />
              ) : (
                <AnnotatePanel spanId={review.claimed.item.span_id} configs={toScore} keys={!busy} />
              )
            ) : null}
            <div className="review-keys">
              <span>
                <kbd>n</kbd>/<kbd>Enter</kbd> complete & next
              </span>
              <span>
                <kbd>s</kbd> skip
              </span>
              <span>
                <kbd>Esc</kbd> release & leave
              </span>
              {review.claimed.item.locked_until ? (
                <span title={formatTimestamp(review.claimed.item.locked_until)}>
                  locked to you until {formatTime(review.claimed.item.locked_until)}
                </span>
              ) : null}
            </div>
          </aside>
        </div>
      )}
    </div>
  );
}

function ReviewedCall({ span }: { span: SpanDetail }) {
  const conversation = useConversation(span.span_id);
  const located = useMemo(() => locate(span.findings, span.request_body, span.response_body), [span]);
  return (
    <>
      <div className="review-meta">
        <span className="mono">{span.response_model ?? span.model ?? span.kind}</span>
        <StatusBadge status={span.status} httpStatus={span.http_status} />
        <span className="muted">{formatTimestamp(span.started_at)}</span>
        <span className="muted">{formatDuration(span.latency_ms)}</span>
        {span.user_id ? <span className="muted">user {span.user_id}</span> : null}
        <Link to={`/ui/traces/${span.span_id}`} target="_blank" rel="noopener">
          Open the trace ↗
        </Link>
      </div>
      {span.error ? <div className="note error">{span.error}</div> : null}
      {conversation.isPending ? (
        <Spinner />
      ) : conversation.isError ? (
        <ErrorBox error={conversation.error} />
      ) : (
        <Conversation data={conversation.data} located={located} />
      )}
    </>
  );
}
