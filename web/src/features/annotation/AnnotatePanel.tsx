import "./annotation.css";

import { useEffect, useRef, useState } from "react";
import { Link } from "react-router";

import type { Annotation, ScoreConfig } from "../../api/types";
import { ErrorBox, Spinner } from "../../components/feedback";
import { formatRelative, formatTimestamp } from "../../components/format";
import { chordPending, isTyping } from "../layout/shortcuts";
import { useAnnotate, useAnnotations, useAuthor, useDeleteAnnotation } from "./queries";
import { ScoreField, type FieldHandle } from "./ScoreField";
import { choiceForKey, mine, step, valueText } from "./scoring";

interface Props {
  spanId: string;
  /** The configs to fill in, in order (see scoring.configsToScore). */
  configs: ScoreConfig[];
  /** Answer the scoring keys (j/k, digits, i, e); off while another panel owns the keyboard. */
  keys: boolean;
}

/** Score a span with each config and read everyone's annotations of it. */
export function AnnotatePanel({ spanId, configs, keys }: Props) {
  const annotations = useAnnotations(spanId);
  const author = useAuthor();
  const annotate = useAnnotate(spanId);
  const [active, setActive] = useState(0);
  const fields = useRef(new Map<string, FieldHandle>());
  const own = mine(annotations.data ?? [], author);
  const activeConfig = configs[Math.min(active, configs.length - 1)];

  useEffect(() => setActive(0), [spanId]);

  useEffect(() => {
    if (!keys) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return;
      if (event.defaultPrevented || chordPending() || !activeConfig || document.querySelector(".modal")) return;
      const field = fields.current.get(activeConfig.config_id);
      if (event.key === "j" || event.key === "k") {
        event.preventDefault();
        setActive((current) => step(current, event.key === "j" ? 1 : -1, configs.length));
      } else if (event.key === "e") {
        event.preventDefault();
        field?.focusComment();
      } else if (event.key === "i") {
        event.preventDefault();
        field?.focusValue();
      } else if (/^[0-9]$/.test(event.key)) {
        const choice = choiceForKey(activeConfig, event.key);
        if (choice) {
          event.preventDefault();
          field?.pick(choice.value);
        } else if (activeConfig.kind === "numeric") {
          event.preventDefault();
          field?.focusValue(event.key);
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [keys, activeConfig, configs.length]);

  return (
    <section className="annotate-panel" data-testid="annotate-panel" aria-label="Annotate">
      <header className="annotate-head">
        <h2>Annotate</h2>
        {keys && configs.length ? (
          <span className="muted small">
            <kbd>j</kbd>/<kbd>k</kbd> score · <kbd>1</kbd>–<kbd>9</kbd> pick · <kbd>i</kbd> value · <kbd>e</kbd> comment
          </span>
        ) : null}
      </header>
      {annotations.isPending ? <Spinner /> : null}
      {annotations.isError ? <ErrorBox error={annotations.error} /> : null}
      {configs.length === 0 ? (
        <p className="muted">
          No score configs yet. <Link to="/ui/annotation?tab=configs">Create one</Link> (a label, a number, yes/no or
          text) to score calls.
        </p>
      ) : null}
      {annotations.isSuccess
        ? configs.map((config, index) => (
            <ScoreField
              key={`${spanId}:${config.config_id}`}
              ref={(handle) => {
                if (handle) fields.current.set(config.config_id, handle);
                else fields.current.delete(config.config_id);
              }}
              config={config}
              own={own.get(config.config_id)}
              active={keys && index === active}
              onActivate={() => setActive(index)}
              save={(value, comment) => annotate.mutateAsync({ configId: config.config_id, value, comment })}
            />
          ))
        : null}
      {annotations.isSuccess ? <AnnotationList spanId={spanId} annotations={annotations.data} author={author} /> : null}
    </section>
  );
}

function AnnotationList({
  spanId,
  annotations,
  author,
}: {
  spanId: string;
  annotations: Annotation[];
  author: string;
}) {
  const remove = useDeleteAnnotation(spanId);
  const sorted = [...annotations].sort(
    (a, b) => a.config_name.localeCompare(b.config_name) || (a.updated_at < b.updated_at ? 1 : -1),
  );
  return (
    <div className="annotation-list" data-testid="annotation-list">
      <h3>
        Annotations <span className="muted">({annotations.length})</span>
      </h3>
      {sorted.length === 0 ? <p className="muted small">Nobody has scored this call yet.</p> : null}
      <ul>
        {sorted.map((annotation) => (
          <li key={annotation.annotation_id}>
            <div className="annotation-line">
              <span className="annotation-name">{annotation.config_name}</span>
              <span className={`annotation-value kind-${annotation.kind}`}>{valueText(annotation)}</span>
              <span className="muted small annotation-by" title={formatTimestamp(annotation.updated_at)}>
                {annotation.source === "human" ? annotation.author : `${annotation.source} · ${annotation.author}`} ·{" "}
                {formatRelative(annotation.updated_at)}
              </span>
              {annotation.author === author && annotation.source === "human" ? (
                <button
                  type="button"
                  className="link-button muted small"
                  title="Delete your annotation"
                  disabled={remove.isPending}
                  onClick={() => remove.mutate(annotation.annotation_id)}
                >
                  Delete
                </button>
              ) : null}
            </div>
            {annotation.comment ? <p className="annotation-comment">{annotation.comment}</p> : null}
          </li>
        ))}
      </ul>
      {remove.isError ? <ErrorBox error={remove.error} /> : null}
    </div>
  );
}
