/** A JSON value edited as text, with the first mistake's place shown under it. */
export function JsonEditor({
  label,
  value,
  error,
  hint,
  rows,
  onChange,
}: {
  label: string;
  value: string;
  error?: string | undefined;
  hint?: string;
  rows?: number;
  onChange: (text: string) => void;
}) {
  const lines = value.split("\n").length;
  return (
    <label className={`json-editor ${error ? "invalid" : ""}`}>
      <span className="json-editor-label">
        {label}
        {hint ? <span className="muted small"> {hint}</span> : null}
      </span>
      <textarea
        aria-label={label}
        aria-invalid={Boolean(error)}
        spellCheck={false}
        rows={rows ?? Math.min(Math.max(lines, 4), 18)}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.stopPropagation();
            e.currentTarget.blur();
          }
        }}
      />
      {error ? (
        <span className="form-error" role="alert">
          {error}
        </span>
      ) : null}
    </label>
  );
}
