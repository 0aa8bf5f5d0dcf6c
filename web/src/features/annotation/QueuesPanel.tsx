import { type FormEvent, useState } from "react";
import { Link } from "react-router";

import type { AnnotationQueue, QueueProgress, ScoreConfig } from "../../api/types";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { formatRelative } from "../../components/format";
import { useCreateQueue, useQueues, useScoreConfigs } from "./queries";
import { progressShares } from "./scoring";

/** Annotation queues with their progress; a new queue; where to start reviewing. */
export function QueuesPanel() {
  const queues = useQueues();
  const configs = useScoreConfigs();
  const [creating, setCreating] = useState(false);
  const names = new Map(configs.data?.map((config) => [config.config_id, config.name]));
  return (
    <>
      <div className="toolbar-row">
        <p className="muted">
          A queue hands calls to reviewers one at a time. Add calls from the trace list: select rows, then{" "}
          <em>Add to queue</em>.
        </p>
        {creating ? null : (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            New queue
          </button>
        )}
      </div>
      {creating ? <CreateQueue configs={configs.data ?? []} onDone={() => setCreating(false)} /> : null}
      {queues.isPending ? (
        <Spinner />
      ) : queues.isError ? (
        <ErrorBox error={queues.error} />
      ) : queues.data.length === 0 ? (
        creating ? null : (
          <EmptyState title="No annotation queues yet">
            <p>Create a queue, pick the scores reviewers fill in, then add calls to it from the trace list.</p>
          </EmptyState>
        )
      ) : (
        <div className="queues">
          {queues.data.map((queue) => (
            <QueueCard key={queue.queue_id} queue={queue} configNames={names} />
          ))}
        </div>
      )}
    </>
  );
}

function QueueCard({ queue, configNames }: { queue: AnnotationQueue; configNames: Map<string, string> }) {
  const { progress } = queue;
  const finished = progress.completed + progress.skipped;
  const scores = queue.config_ids.map((id) => configNames.get(id) ?? id);
  return (
    <article className="queue-card" data-testid="queue-card">
      <div className="queue-card-head">
        <h3>{queue.name}</h3>
        <span className="muted small">created {formatRelative(queue.created_at)}</span>
        {progress.pending > 0 ? (
          <Link className="btn btn-primary btn-small" to={`/ui/annotation/queues/${queue.queue_id}`}>
            Review
          </Link>
        ) : (
          <span className={`badge ${progress.total ? "status-ok" : "status-cancelled"}`}>
            {progress.total ? "done" : "empty"}
          </span>
        )}
      </div>
      {queue.description ? <p className="muted">{queue.description}</p> : null}
      <ProgressBar progress={progress} />
      <div className="progress-legend">
        <span>
          <strong>
            {finished} of {progress.total}
          </strong>{" "}
          reviewed
        </span>
        <span>
          <span className="dot completed" />
          {progress.completed} completed
        </span>
        <span>
          <span className="dot skipped" />
          {progress.skipped} skipped
        </span>
        <span>
          <span className="dot in-progress" />
          {progress.in_progress} in review
        </span>
        <span>
          <span className="dot waiting" />
          {Math.max(progress.pending - progress.in_progress, 0)} waiting
        </span>
      </div>
      <div className="small">
        <span className="muted">Scores: </span>
        {scores.length ? scores.join(", ") : "every live score config"}
      </div>
      {queue.reviewers.length ? (
        <ul className="reviewers" aria-label="Reviewers">
          {queue.reviewers.map((reviewer) => (
            <li key={reviewer.reviewer}>
              <span>{reviewer.reviewer}</span>
              <span>{reviewer.completed} completed</span>
              {reviewer.skipped ? <span className="muted">{reviewer.skipped} skipped</span> : null}
              {reviewer.assigned_pending ? <span className="muted">{reviewer.assigned_pending} assigned</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </article>
  );
}

export function ProgressBar({ progress }: { progress: QueueProgress }) {
  const shares = progressShares(progress);
  const finished = progress.completed + progress.skipped;
  return (
    <div
      className="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={progress.total}
      aria-valuenow={finished}
      aria-label={`${finished} of ${progress.total} reviewed`}
    >
      <span className="completed" style={{ width: `${shares.completed}%` }} />
      <span className="skipped" style={{ width: `${shares.skipped}%` }} />
      <span className="in-progress" style={{ width: `${shares.inProgress}%` }} />
    </div>
  );
}

function CreateQueue({ configs, onDone }: { configs: ScoreConfig[]; onDone: () => void }) {
  const create = useCreateQueue();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [picked, setPicked] = useState<string[]>([]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: name.trim(), description: description.trim(), config_ids: picked }, { onSuccess: onDone });
  };
  const flip = (id: string) => setPicked(picked.includes(id) ? picked.filter((one) => one !== id) : [...picked, id]);
  return (
    <form className="queue-form" onSubmit={submit} aria-label="New queue">
      <div className="row">
        <label>
          Name
          <input aria-label="Queue name" required value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        </label>
        <label>
          Description
          <input aria-label="Queue description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
      </div>
      <fieldset className="config-picks-set">
        <legend className="small muted">Scores to fill in (in the order picked; none: every live score config)</legend>
        <div className="config-picks">
          {configs.length === 0 ? (
            <span className="muted">No score configs yet (see the Score configs tab).</span>
          ) : null}
          {configs.map((config) => (
            <label key={config.config_id}>
              <input
                type="checkbox"
                checked={picked.includes(config.config_id)}
                onChange={() => flip(config.config_id)}
              />{" "}
              {config.name}
              {picked.includes(config.config_id) ? (
                <span className="muted small"> #{picked.indexOf(config.config_id) + 1}</span>
              ) : null}
            </label>
          ))}
        </div>
      </fieldset>
      {create.isError ? <ErrorBox error={create.error} /> : null}
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={create.isPending || !name.trim()}>
          {create.isPending ? "Creating…" : "Create queue"}
        </button>
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
