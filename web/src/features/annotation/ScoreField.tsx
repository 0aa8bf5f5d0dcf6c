import { type FormEvent, type Ref, useEffect, useImperativeHandle, useRef, useState } from "react";

import type { Annotation, ScoreConfig } from "../../api/types";
import { ProblemError } from "../../api/problem";
import { choicesFor, parseNumber, rangeText, type ScoreValue } from "./scoring";

/** What the panel's keys do to a field. */
export interface FieldHandle {
  pick: (value: ScoreValue) => void;
  /** Focus the number or text input, optionally starting it with `typed`. */
  focusValue: (typed?: string) => void;
  focusComment: () => void;
}

interface Props {
  ref?: Ref<FieldHandle>;
  config: ScoreConfig;
  /** The caller's annotation under this config, if any. */
  own: Annotation | undefined;
  active: boolean;
  onActivate: () => void;
  save: (value: ScoreValue, comment: string) => Promise<unknown>;
}

type Status = { state: "idle" } | { state: "saving" } | { state: "saved" } | { state: "error"; message: string };

/** One score config: its control (labels, yes/no, a number, text), a comment, and whether it is saved. */
export function ScoreField({ ref, config, own, active, onActivate, save }: Props) {
  const [draft, setDraft] = useState(initialDraft(own));
  const [comment, setComment] = useState(own?.comment ?? "");
  const [status, setStatus] = useState<Status>({ state: "idle" });
  const valueInput = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const commentInput = useRef<HTMLInputElement>(null);
  const root = useRef<HTMLDivElement>(null);
  // Saves run one after another, in the order they were asked for: a reviewer who presses "No"
  // then "Yes" quickly must end with "Yes", whichever request the server would finish first.
  const queue = useRef<Promise<void>>(Promise.resolve());
  const [picked, setPicked] = useState<ScoreValue | null>(null);
  const saved = picked ?? own?.value ?? null;

  useEffect(() => {
    if (active) root.current?.scrollIntoView({ block: "nearest" });
  }, [active]);

  // Once no save is under way, the server's answer is what the field shows (a deletion included).
  const ownValue = own?.value;
  useEffect(() => {
    if (status.state !== "saving") setPicked(null);
  }, [ownValue, status.state]);

  const submit = (value: ScoreValue, withComment = comment): Promise<void> => {
    setStatus({ state: "saving" });
    setPicked(value);
    const run = async () => {
      try {
        await save(value, withComment);
        setStatus({ state: "saved" });
      } catch (error) {
        setPicked(null); // show what the server holds again
        setStatus({
          state: "error",
          message: error instanceof ProblemError ? error.detail || error.title : String(error),
        });
      }
    };
    queue.current = queue.current.then(run);
    return queue.current;
  };

  /** The typed value (number, text), or an error to show. */
  const typedValue = (): ScoreValue | null => {
    if (config.kind === "numeric") {
      const parsed = parseNumber(draft, config);
      if (!parsed.ok) {
        setStatus({ state: "error", message: parsed.error });
        return null;
      }
      return parsed.value;
    }
    if (!draft.trim()) {
      setStatus({ state: "error", message: "Write something first." });
      return null;
    }
    return draft;
  };

  const saveTyped = () => {
    const value = typedValue();
    if (value !== null) void submit(value);
  };

  const saveComment = (event: FormEvent) => {
    event.preventDefault();
    const value = config.kind === "numeric" || config.kind === "text" ? (draft.trim() ? typedValue() : saved) : saved;
    if (value === null) {
      setStatus({ state: "error", message: "Score it first: the comment is saved with the score." });
      return;
    }
    void submit(value);
  };

  useImperativeHandle(ref, () => ({
    pick: (value) => void submit(value),
    focusValue: (typed) => {
      if (typed !== undefined) setDraft(typed);
      valueInput.current?.focus();
    },
    focusComment: () => commentInput.current?.focus(),
  }));

  const choices = choicesFor(config);
  return (
    <div
      ref={root}
      className={`score-field ${active ? "active" : ""}`}
      data-testid="score-field"
      data-config={config.name}
      onFocus={onActivate}
      onClick={onActivate}
    >
      <div className="score-field-head">
        <span className="score-name" title={config.description || undefined}>
          {config.name}
        </span>
        {config.kind === "numeric" && rangeText(config) ? (
          <span className="muted small">{rangeText(config)}</span>
        ) : null}
        <span className={`score-status ${status.state}`} role="status">
          {status.state === "saving"
            ? "Saving…"
            : status.state === "saved"
              ? "Saved"
              : own && status.state === "idle"
                ? "✓"
                : ""}
        </span>
      </div>
      {choices.length ? (
        <div className="choices" role="group" aria-label={config.name}>
          {choices.map((choice) => (
            <button
              key={choice.key}
              type="button"
              className={`choice ${saved === choice.value ? "selected" : ""}`}
              aria-pressed={saved === choice.value}
              onClick={() => void submit(choice.value)}
            >
              <kbd>{choice.key}</kbd> {choice.label}
            </button>
          ))}
        </div>
      ) : config.kind === "numeric" ? (
        <form
          className="score-number"
          onSubmit={(event) => {
            event.preventDefault();
            saveTyped();
          }}
        >
          {config.min_value !== null && config.max_value !== null ? (
            <input
              type="range"
              aria-label={`${config.name} slider`}
              min={config.min_value}
              max={config.max_value}
              step={Number.isInteger(config.min_value) && Number.isInteger(config.max_value) ? 1 : "any"}
              value={draft === "" ? config.min_value : draft}
              onChange={(e) => setDraft(e.target.value)}
              onPointerUp={saveTyped}
              onKeyUp={(e) => {
                if (e.key.startsWith("Arrow")) saveTyped();
              }}
            />
          ) : null}
          <input
            ref={valueInput}
            type="text"
            inputMode="decimal"
            aria-label={config.name}
            className="number-input"
            placeholder="—"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={blurOnEscape}
          />
          <button type="submit" className="btn btn-small">
            Save
          </button>
        </form>
      ) : (
        <div className="score-text">
          <textarea
            ref={valueInput}
            aria-label={config.name}
            rows={2}
            placeholder="Write it here; Ctrl+Enter saves"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                saveTyped();
              }
              blurOnEscape(e);
            }}
          />
          <button type="button" className="btn btn-small" onClick={saveTyped}>
            Save
          </button>
        </div>
      )}
      <form className="score-comment" onSubmit={saveComment}>
        <input
          ref={commentInput}
          aria-label={`Comment on ${config.name}`}
          placeholder="Comment (e), Enter saves"
          value={comment}
          onChange={(e) => setComment(e.target.value)}
          onKeyDown={blurOnEscape}
        />
      </form>
      {status.state === "error" ? (
        <div className="score-error" role="alert">
          {status.message}
        </div>
      ) : null}
    </div>
  );
}

function initialDraft(own: Annotation | undefined): string {
  if (!own || own.value === null || typeof own.value === "boolean") return "";
  return String(own.value);
}

/** Esc leaves a field (and nothing else: the page's Esc is for when no field has focus). */
function blurOnEscape(event: { key: string; currentTarget: HTMLElement; stopPropagation: () => void }) {
  if (event.key === "Escape") {
    event.stopPropagation();
    event.currentTarget.blur();
  }
}
