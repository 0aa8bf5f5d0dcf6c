import "./datasets.css";

import { type FormEvent, useEffect, useMemo, useState } from "react";
import { Link } from "react-router";

import type { ItemDraft } from "../../api/types";
import { ErrorBox, Spinner } from "../../components/feedback";
import { plural } from "../../components/format";
import { Modal } from "../../components/Modal";
import { JsonEditor } from "./JsonEditor";
import { glimpse, readItem, toJsonText } from "./jsonText";
import { useAddItems, useCreateDataset, useDatasets, useDrafts } from "./queries";

const NEW = "__new__";

interface Draft {
  input: string;
  expected: string;
  source: ItemDraft;
  /** The two editors read together, again on each change of this draft only. */
  read: ReturnType<typeof readItem>;
}

function draftOf(source: ItemDraft): Draft {
  const input = toJsonText(source.input);
  const expected = toJsonText(source.expected_output ?? null);
  return { input, expected, source, read: readItem(input, expected) };
}

function edited(draft: Draft, changes: { input?: string; expected?: string }): Draft {
  const next = { ...draft, ...changes };
  return { ...next, read: readItem(next.input, next.expected) };
}

/** Turn spans into dataset items: drafted by the server, edited here, added as one new version. */
export function AddToDatasetDialog({ spanIds, onClose }: { spanIds: string[]; onClose: () => void }) {
  const datasets = useDatasets();
  const drafted = useDrafts(spanIds);
  const create = useCreateDataset();
  const add = useAddItems();
  const [choice, setChoice] = useState("");
  const [name, setName] = useState("");
  const [note, setNote] = useState(
    spanIds.length === 1 ? `from trace ${spanIds[0]}` : `${spanIds.length} items from traces`,
  );
  const [drafts, setDrafts] = useState<Draft[]>([]);
  const [tried, setTried] = useState(false);
  // Editors exist only for the drafts opened: a thousand spans make a thousand drafts.
  const [opened, setOpened] = useState<ReadonlySet<number>>(new Set([0]));
  useEffect(() => {
    if (drafted.data) setDrafts(drafted.data.map(draftOf));
  }, [drafted.data]);
  const chosen = choice || (datasets.data?.[0]?.dataset_id ?? NEW);
  const invalid = useMemo(() => drafts.filter((draft) => !draft.read.ok).length, [drafts]);
  const busy = create.isPending || add.isPending;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTried(true);
    if (invalid || drafts.length === 0) return;
    const items = drafts.map((draft): ItemDraft => {
      if (!draft.read.ok) throw new Error("unreachable: checked above");
      return { ...draft.source, input: draft.read.item.input, expected_output: draft.read.item.expected_output };
    });
    const datasetId =
      chosen === NEW ? (await create.mutateAsync({ name: name.trim(), description: "" })).dataset_id : chosen;
    await add.mutateAsync({ datasetId, items, note: note.trim() });
  };

  const title = `Add ${spanIds.length === 1 ? "this call" : `${spanIds.length} calls`} to a dataset`;
  if (add.data) {
    const datasetName =
      datasets.data?.find((dataset) => dataset.dataset_id === add.data.dataset_id)?.name ?? create.data?.name;
    return (
      <Modal title={title} onClose={onClose}>
        <div className="note" role="status" data-testid="added-to-dataset">
          Added {add.data.items.length} item{add.data.items.length === 1 ? "" : "s"} to <strong>{datasetName}</strong>{" "}
          as version {add.data.version.version}.
        </div>
        <div className="modal-actions">
          <Link className="btn btn-primary" to={`/ui/datasets/${add.data.dataset_id}`}>
            Open the dataset
          </Link>
          <button type="button" className="btn" onClick={onClose} autoFocus>
            Close
          </button>
        </div>
      </Modal>
    );
  }
  return (
    <Modal title={title} onClose={onClose} wide busy={busy}>
      {datasets.isPending || drafted.isPending ? (
        <Spinner label="Drafting items…" />
      ) : datasets.isError || drafted.isError ? (
        <ErrorBox error={datasets.error ?? drafted.error} />
      ) : (
        <form className="form add-to-dataset" onSubmit={(event) => void submit(event).catch(() => undefined)}>
          <div className="dataset-pick">
            <label>
              Dataset
              <select aria-label="Dataset" value={chosen} onChange={(e) => setChoice(e.target.value)} autoFocus>
                {datasets.data.map((dataset) => (
                  <option key={dataset.dataset_id} value={dataset.dataset_id}>
                    {dataset.name} ({plural(dataset.item_count, "item")})
                  </option>
                ))}
                <option value={NEW}>New dataset…</option>
              </select>
            </label>
            {chosen === NEW ? (
              <label>
                Name of the new dataset
                <input aria-label="Dataset name" required value={name} onChange={(e) => setName(e.target.value)} />
              </label>
            ) : null}
          </div>
          <p className="hint">
            Each call becomes an item: its messages and parameters as the input, its answer as the expected output. Edit
            them before adding; the metadata keeps where each came from.
          </p>
          <div className="drafts">
            {drafts.map((draft, index) => {
              const errors = draft.read.ok ? {} : draft.read.errors;
              const change = (changes: { input?: string; expected?: string }) =>
                setDrafts(drafts.map((d, i) => (i === index ? edited(d, changes) : d)));
              return (
                <details
                  key={draft.source.source_span_id ?? index}
                  className="draft"
                  open={opened.has(index)}
                  onToggle={(event) => {
                    const open = event.currentTarget.open;
                    setOpened((known) => {
                      const next = new Set(known);
                      if (open) next.add(index);
                      else next.delete(index);
                      return next;
                    });
                  }}
                >
                  <summary>
                    <span className="mono small">{draft.source.source_span_id}</span> {glimpse(draft.source.input, 100)}
                    {draft.read.ok ? null : <span className="badge status-error">invalid JSON</span>}
                  </summary>
                  {opened.has(index) ? (
                    <div className="draft-editors">
                      <JsonEditor
                        label="Input"
                        value={draft.input}
                        error={errors.input}
                        onChange={(text) => change({ input: text })}
                      />
                      <JsonEditor
                        label="Expected output"
                        value={draft.expected}
                        error={errors.expected_output}
                        hint="Empty for none."
                        onChange={(text) => change({ expected: text })}
                      />
                    </div>
                  ) : null}
                </details>
              );
            })}
          </div>
          <label>
            Note
            <input aria-label="Note" value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} />
            <span className="hint">Shown in the dataset's version history.</span>
          </label>
          {create.isError ? <ErrorBox error={create.error} /> : null}
          {add.isError ? <ErrorBox error={add.error} /> : null}
          <div className="modal-actions">
            {tried && invalid ? (
              <span className="form-error">
                Fix the JSON of {invalid} item{invalid > 1 ? "s" : ""} first.
              </span>
            ) : null}
            <button type="button" className="btn" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={busy || (chosen === NEW && !name.trim())}>
              {busy ? "Adding…" : `Add ${drafts.length} item${drafts.length === 1 ? "" : "s"}`}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
