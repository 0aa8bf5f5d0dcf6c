import type { EvalRun } from "../../api/types";
import { runShares } from "./evals";

/** A run's items as a bar: scored, errors, in flight, waiting. */
export function RunProgress({ run }: { run: EvalRun }) {
  const shares = runShares(run);
  return (
    <div className="run-progress" title={`${run.done} of ${run.item_count} done · ${run.errors} errors · ${run.running} running · ${run.pending} waiting`}>
      <div
        className="run-bar"
        role="progressbar"
        aria-label={`Run ${run.number} progress`}
        aria-valuemin={0}
        aria-valuemax={run.item_count}
        aria-valuenow={run.done}
      >
        <span className="ok" style={{ width: `${shares.ok * 100}%` }} />
        <span className="errors" style={{ width: `${shares.errors * 100}%` }} />
        <span className="running" style={{ width: `${shares.running * 100}%` }} />
      </div>
      <span className="small run-count">
        {run.done}/{run.item_count}
        {run.errors ? <span className="form-error"> · {run.errors} errors</span> : null}
      </span>
    </div>
  );
}
