import { type FormEvent, useEffect, useState } from "react";

import {
  activeFilterCount,
  EMPTY_FILTERS,
  parseTags,
  RANGE_LABELS,
  type RangeKey,
  STATUSES,
  type TraceFilters,
} from "./filters";
import { ScoreFilter } from "./ScoreFilter";

const CATEGORIES = [
  "EMAIL",
  "PHONE",
  "CREDIT_CARD",
  "US_SSN",
  "IBAN",
  "IP_ADDRESS",
  "STREET_ADDRESS",
  "PRIVATE_KEY",
  "OPENAI_KEY",
  "AWS_SECRET_ACCESS_KEY",
  "PROMPT_INJECTION",
  "JAILBREAK",
  "TOXICITY",
  "PROFANITY",
];

interface Props {
  filters: TraceFilters;
  onChange: (next: TraceFilters) => void;
  onRefresh: () => void;
  suggestions: { upstreams: string[]; models: string[] };
}

export function FilterBar({ filters, onChange, onRefresh, suggestions }: Props) {
  const [q, setQ] = useState(filters.q);
  useEffect(() => setQ(filters.q), [filters.q]);
  // Typing searches after a short pause; Enter searches at once.
  useEffect(() => {
    if (q === filters.q) return;
    const timer = window.setTimeout(() => onChange({ ...filters, q }), 400);
    return () => window.clearTimeout(timer);
  }, [q, filters, onChange]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onChange({ ...filters, q });
  };
  const set = <K extends keyof TraceFilters>(key: K, value: TraceFilters[K]) => onChange({ ...filters, [key]: value });
  const count = activeFilterCount(filters);
  return (
    <div className="filter-bar">
      <div className="filter-row">
        <form className="search" onSubmit={submit} role="search">
          <input
            data-search
            type="search"
            placeholder="Search inputs and outputs…  ( / )"
            aria-label="Search inputs and outputs"
            value={q}
            onChange={(e) => setQ(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") (e.target as HTMLInputElement).blur();
            }}
          />
        </form>
        <select
          aria-label="Time range"
          value={filters.range}
          onChange={(e) => {
            const range = e.target.value as RangeKey;
            onChange({ ...filters, range, live: range === "custom" ? false : filters.live });
          }}
        >
          {Object.entries(RANGE_LABELS).map(([key, label]) => (
            <option key={key} value={key}>
              {label}
            </option>
          ))}
        </select>
        {filters.range === "custom" ? (
          <span className="custom-range">
            <input
              type="datetime-local"
              aria-label="From"
              value={filters.since}
              onChange={(e) => set("since", e.target.value)}
            />
            <span className="muted">to</span>
            <input
              type="datetime-local"
              aria-label="Until"
              value={filters.until}
              onChange={(e) => set("until", e.target.value)}
            />
          </span>
        ) : null}
        <label className={`toggle ${filters.live ? "on" : ""}`} title="Poll for new calls every 2 seconds">
          <input
            type="checkbox"
            checked={filters.live}
            disabled={filters.range === "custom"}
            onChange={(e) => set("live", e.target.checked)}
          />
          <span className="toggle-dot" aria-hidden="true" />
          Live
        </label>
        <button type="button" className="btn" onClick={onRefresh} title="Reload the list">
          Refresh
        </button>
      </div>
      <div className="filter-row filters">
        <select aria-label="Status" value={filters.status} onChange={(e) => set("status", e.target.value as TraceFilters["status"])}>
          <option value="">Any status</option>
          {STATUSES.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
        <TextFilter label="Upstream" value={filters.upstream} options={suggestions.upstreams} onCommit={(v) => set("upstream", v)} />
        <TextFilter label="Model" value={filters.model} options={suggestions.models} onCommit={(v) => set("model", v)} />
        <TextFilter label="Session" value={filters.session_id} onCommit={(v) => set("session_id", v)} />
        <TextFilter label="User" value={filters.user_id} onCommit={(v) => set("user_id", v)} />
        <TextFilter
          label="Tags"
          placeholder="Tags (a, b)"
          value={filters.tags.join(", ")}
          onCommit={(v) => set("tags", parseTags(v))}
        />
        <TextFilter
          label="Guardrail"
          value={filters.guardrail_category}
          options={CATEGORIES}
          onCommit={(v) => set("guardrail_category", v.toUpperCase())}
        />
        <ScoreFilter filters={filters} onChange={onChange} />
        {count > 0 || filters.q || filters.range !== "all" ? (
          <button type="button" className="link-button" onClick={() => onChange({ ...EMPTY_FILTERS, live: filters.live })}>
            Clear {count > 0 ? `${count} filter${count > 1 ? "s" : ""}` : "all"}
          </button>
        ) : null}
      </div>
    </div>
  );
}

function TextFilter(props: {
  label: string;
  value: string;
  placeholder?: string;
  options?: string[];
  onCommit: (value: string) => void;
}) {
  const { label, value, placeholder, options, onCommit } = props;
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const listId = options ? `filter-${label.toLowerCase()}-options` : undefined;
  const commit = () => {
    if (draft.trim() !== value) onCommit(draft.trim());
  };
  return (
    <>
      <input
        className={`text-filter ${value ? "active" : ""}`}
        aria-label={label}
        placeholder={placeholder ?? label}
        value={draft}
        list={listId}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
          if (e.key === "Escape") setDraft(value);
        }}
      />
      {options && listId ? (
        <datalist id={listId}>
          {options.map((option) => (
            <option key={option} value={option} />
          ))}
        </datalist>
      ) : null}
    </>
  );
}
