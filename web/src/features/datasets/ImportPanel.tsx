import { type FormEvent, useState } from "react";

import { ProblemError } from "../../api/problem";
import type { Dataset } from "../../api/types";
import { ErrorBox } from "../../components/feedback";
import { plural } from "../../components/format";
import { type FileFormat, formatOf, useImport } from "./queries";

/** Items from a CSV or JSON Lines file, all or nothing; a refused file lists its lines in error. */
export function ImportPanel({ dataset, onImported }: { dataset: Dataset; onImported: () => void }) {
  const upload = useImport(dataset.dataset_id);
  const [file, setFile] = useState<File | null>(null);
  const [chosenFormat, setChosenFormat] = useState<FileFormat | "">("");
  const [note, setNote] = useState("");
  const format = chosenFormat || (file ? formatOf(file.name) : null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!file || !format) return;
    upload.mutate({ file, format, note: note.trim() }, { onSuccess: onImported });
  };
  return (
    <form className="import-panel" onSubmit={submit} aria-label="Import items">
      <p className="hint">
        Columns (CSV) or keys (JSONL): <code>input</code>, <code>expected_output</code>, <code>metadata</code> or{" "}
        <code>metadata.&lt;key&gt;</code>, <code>source_span_id</code>. A CSV cell holding JSON is read as JSON. The
        file is added as one new version, or not at all if a line is wrong.
      </p>
      <div className="row">
        <input
          type="file"
          aria-label="File to import"
          accept=".csv,.jsonl,.ndjson,text/csv,application/x-ndjson"
          onChange={(e) => {
            setFile(e.target.files?.[0] ?? null);
            upload.reset();
          }}
        />
        <select
          aria-label="File format"
          value={chosenFormat}
          onChange={(e) => setChosenFormat(e.target.value as FileFormat | "")}
        >
          <option value="">
            {file && formatOf(file.name)
              ? `${formatOf(file.name)?.toUpperCase()} (from the name)`
              : "Format from the name"}
          </option>
          <option value="csv">CSV</option>
          <option value="jsonl">JSON Lines</option>
        </select>
        <input
          aria-label="Import note"
          placeholder="Note (optional)"
          value={note}
          onChange={(e) => setNote(e.target.value)}
        />
        <button type="submit" className="btn btn-primary" disabled={!file || !format || upload.isPending}>
          {upload.isPending ? "Importing…" : "Import"}
        </button>
      </div>
      {file && !format ? (
        <span className="form-error">Pick the format: the file's name does not end in .csv or .jsonl.</span>
      ) : null}
      {upload.isSuccess ? (
        <div className="note" role="status" data-testid="imported">
          Imported {plural(upload.data.imported, "item")} as version {upload.data.version.version}.
        </div>
      ) : null}
      {upload.isError ? <ImportErrors error={upload.error} /> : null}
    </form>
  );
}

function ImportErrors({ error }: { error: unknown }) {
  const lines = error instanceof ProblemError ? error.errors.filter((entry) => entry.line !== undefined) : [];
  if (!(error instanceof ProblemError) || lines.length === 0) return <ErrorBox error={error} />;
  return (
    <div className="import-errors" role="alert" data-testid="import-errors">
      <strong>
        Nothing was imported: fix {lines.length === 1 ? "this line" : `these ${lines.length} lines`} and try again.
      </strong>
      <table>
        <tbody>
          {lines.map((entry, index) => (
            <tr key={index}>
              <td className="mono">line {entry.line}</td>
              <td className="mono">{entry.field ?? ""}</td>
              <td>{entry.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {/and \d+ more$/.test(error.detail) ? (
        <p className="small">{error.detail.replace(/^.*; (and \d+ more)$/, "…$1 lines.")}</p>
      ) : null}
    </div>
  );
}
