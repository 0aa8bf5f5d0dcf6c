import { type FormEvent, useState } from "react";

import type { Dataset, DatasetItem } from "../../api/types";
import { ErrorBox } from "../../components/feedback";
import { Modal } from "../../components/Modal";
import { JsonEditor } from "./JsonEditor";
import { parseJson, readItem, toJsonText } from "./jsonText";
import { useEditItem } from "./queries";

/** Change an item's input, expected output or metadata: saved as a new version of the dataset. */
export function EditItemDialog({
  dataset,
  item,
  onClose,
}: {
  dataset: Dataset;
  item: DatasetItem;
  onClose: () => void;
}) {
  const edit = useEditItem(dataset.dataset_id);
  const [input, setInput] = useState(toJsonText(item.input));
  const [expected, setExpected] = useState(toJsonText(item.expected_output));
  const [metadata, setMetadata] = useState(toJsonText(item.metadata));
  const [note, setNote] = useState("");
  const read = readItem(input, expected);
  const meta = parseJson(metadata);
  const metaError = !meta.ok
    ? `Line ${meta.line}, column ${meta.column}: ${meta.error}`
    : meta.value === null || typeof meta.value !== "object" || Array.isArray(meta.value)
      ? "The metadata must be a JSON object."
      : undefined;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!read.ok || metaError || !meta.ok) return;
    edit.mutate(
      {
        itemId: item.item_id,
        input: read.item.input,
        expected_output: read.item.expected_output,
        metadata: meta.value as Record<string, unknown>,
        note: note.trim() || `edited item ${item.item_id}`,
        baseVersion: dataset.latest_version,
      },
      { onSuccess: onClose },
    );
  };
  return (
    <Modal title={`Edit item ${item.item_id.slice(-8)}`} onClose={onClose} wide busy={edit.isPending}>
      <form className="form" onSubmit={submit}>
        <div className="draft-editors">
          <JsonEditor label="Input" value={input} error={read.ok ? undefined : read.errors.input} onChange={setInput} />
          <JsonEditor
            label="Expected output"
            hint="Empty for none."
            value={expected}
            error={read.ok ? undefined : read.errors.expected_output}
            onChange={setExpected}
          />
        </div>
        <JsonEditor label="Metadata" value={metadata} error={metaError} rows={4} onChange={setMetadata} />
        <label>
          Note
          <input
            aria-label="Note"
            value={note}
            maxLength={2000}
            placeholder={`edited item ${item.item_id}`}
            onChange={(e) => setNote(e.target.value)}
          />
          <span className="hint">
            Saving makes version {dataset.latest_version + 1}; earlier versions keep the item as it was.
          </span>
        </label>
        {edit.isError ? <ErrorBox error={edit.error} /> : null}
        <div className="modal-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={edit.isPending || !read.ok || Boolean(metaError)}>
            {edit.isPending ? "Saving…" : "Save as a new version"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
