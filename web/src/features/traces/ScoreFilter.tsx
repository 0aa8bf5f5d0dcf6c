import { useEffect, useState } from "react";

import { useScoreConfigs } from "../annotation/queries";
import type { TraceFilters } from "./filters";

/** Calls annotated with a score config: a range for numbers, a label for labels and yes/no. */
export function ScoreFilter({ filters, onChange }: { filters: TraceFilters; onChange: (next: TraceFilters) => void }) {
  const configs = useScoreConfigs(true);
  const chosen = filters.score_config;
  const config = configs.data?.find((entry) => entry.name === chosen || entry.config_id === chosen);
  if (!chosen && !configs.data?.length) return null;
  const set = (changes: Partial<TraceFilters>) => onChange({ ...filters, ...changes });
  return (
    <span className={`score-filter ${chosen ? "active" : ""}`}>
      <select
        aria-label="Score"
        value={chosen}
        onChange={(e) => set({ score_config: e.target.value, score_min: "", score_max: "", score_label: "" })}
      >
        <option value="">Any score</option>
        {configs.data?.map((entry) => (
          <option key={entry.config_id} value={entry.name}>
            Scored: {entry.name}
            {entry.archived_at ? " (archived)" : ""}
          </option>
        ))}
        {chosen && !config ? <option value={chosen}>Scored: {chosen}</option> : null}
      </select>
      {config?.kind === "numeric" ? (
        <>
          <Bound
            label="Score at least"
            placeholder={config.min_value === null ? "min" : `≥ ${config.min_value}`}
            value={filters.score_min}
            onCommit={(v) => set({ score_min: v })}
          />
          <Bound
            label="Score at most"
            placeholder={config.max_value === null ? "max" : `≤ ${config.max_value}`}
            value={filters.score_max}
            onCommit={(v) => set({ score_max: v })}
          />
        </>
      ) : null}
      {config?.kind === "categorical" ? (
        <select
          aria-label="Score label"
          value={filters.score_label}
          onChange={(e) => set({ score_label: e.target.value })}
        >
          <option value="">any label</option>
          {config.categories.map((category) => (
            <option key={category.label} value={category.label}>
              {category.label}
            </option>
          ))}
        </select>
      ) : null}
      {config?.kind === "boolean" ? (
        <select
          aria-label="Score label"
          value={filters.score_label}
          onChange={(e) => set({ score_label: e.target.value })}
        >
          <option value="">yes or no</option>
          <option value="true">yes</option>
          <option value="false">no</option>
        </select>
      ) : null}
    </span>
  );
}

function Bound({
  label,
  placeholder,
  value,
  onCommit,
}: {
  label: string;
  placeholder: string;
  value: string;
  onCommit: (value: string) => void;
}) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const commit = () => {
    if (draft.trim() !== value) onCommit(draft.trim());
  };
  return (
    <input
      className="bound"
      inputMode="decimal"
      aria-label={label}
      placeholder={placeholder}
      value={draft}
      onChange={(e) => setDraft(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === "Enter") commit();
        if (e.key === "Escape") setDraft(value);
      }}
    />
  );
}
