import { type FormEvent, useState } from "react";
import { Link } from "react-router";

import { ErrorBox, Spinner } from "../../components/feedback";
import { Modal } from "../../components/Modal";
import { useAddToQueue, useCreateQueue, useQueues } from "./queries";

const NEW = "__new__";

/** Put spans in an annotation queue, an existing one or one made here. */
export function AddToQueueDialog({ spanIds, onClose }: { spanIds: string[]; onClose: () => void }) {
  const queues = useQueues();
  const create = useCreateQueue();
  const add = useAddToQueue();
  const [choice, setChoice] = useState("");
  const [name, setName] = useState("");
  const chosen = choice || (queues.data?.[0]?.queue_id ?? NEW);
  const busy = create.isPending || add.isPending;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const queueId =
      chosen === NEW
        ? (await create.mutateAsync({ name: name.trim(), description: "", config_ids: [] })).queue_id
        : chosen;
    await add.mutateAsync({ queueId, spanIds });
  };
  const done = add.data && add.variables;
  const queueName = done
    ? (queues.data?.find((queue) => queue.queue_id === add.variables.queueId)?.name ?? create.data?.name)
    : "";
  const count = `${spanIds.length} call${spanIds.length === 1 ? "" : "s"}`;
  return (
    <Modal title={`Add ${count} to an annotation queue`} onClose={onClose} busy={busy}>
      {queues.isPending ? (
        <Spinner />
      ) : queues.isError ? (
        <ErrorBox error={queues.error} />
      ) : done ? (
        <div className="note" role="status" data-testid="queued">
          Added {add.data.added} to <strong>{queueName}</strong>
          {add.data.already_queued ? ` (${add.data.already_queued} already there)` : ""}.
          <div className="modal-actions">
            <Link className="btn btn-primary" to={`/ui/annotation/queues/${add.variables.queueId}`}>
              Review now
            </Link>
            <button type="button" className="btn" onClick={onClose} autoFocus>
              Close
            </button>
          </div>
        </div>
      ) : (
        <form className="form" onSubmit={(event) => void submit(event).catch(() => undefined)}>
          <label>
            Queue
            <select aria-label="Queue" value={chosen} onChange={(e) => setChoice(e.target.value)} autoFocus>
              {queues.data.map((queue) => (
                <option key={queue.queue_id} value={queue.queue_id}>
                  {queue.name} ({queue.progress.pending} waiting)
                </option>
              ))}
              <option value={NEW}>New queue…</option>
            </select>
          </label>
          {chosen === NEW ? (
            <label>
              Name of the new queue
              <input aria-label="Queue name" required value={name} onChange={(e) => setName(e.target.value)} />
              <span className="hint">
                Reviewers fill in every live score config; pick some on the Annotation page instead.
              </span>
            </label>
          ) : null}
          {create.isError ? <ErrorBox error={create.error} /> : null}
          {add.isError ? <ErrorBox error={add.error} /> : null}
          <div className="modal-actions">
            <button type="button" className="btn" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={busy || (chosen === NEW && !name.trim())}>
              {busy ? "Adding…" : "Add to queue"}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
