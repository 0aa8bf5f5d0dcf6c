import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";

import { api, unwrap } from "../../api/client";
import type { IssuedKey } from "../../api/types";
import { CopyButton } from "../../components/CopyButton";
import { ErrorBox, Spinner } from "../../components/feedback";
import { formatTimestamp } from "../../components/format";
import { keyLabel } from "./keys";
import { LoadError } from "./LoadError";

const KEYS = ["keys"] as const;

export function KeysPanel() {
  const client = useQueryClient();
  const keys = useQuery({ queryKey: KEYS, queryFn: () => unwrap(api.GET("/api/v1/keys")), retry: false });
  const projects = useQuery({ queryKey: ["projects"], queryFn: () => unwrap(api.GET("/api/v1/projects")), retry: false });
  const [project, setProject] = useState("default");
  const [issued, setIssued] = useState<IssuedKey | null>(null);
  const create = useMutation({
    mutationFn: (body: { project: string }) => unwrap(api.POST("/api/v1/keys", { body })),
    onSuccess: (key) => {
      setIssued(key);
      void client.invalidateQueries({ queryKey: KEYS });
      void client.invalidateQueries({ queryKey: ["projects"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ project: project.trim() });
  };
  return (
    <>
      <p className="muted">
        Glassgate keys let clients call upstreams whose credentials Glassgate holds. A key is shown once, when it is
        created; only its hash is stored. AWS key pairs, for SigV4 clients such as boto3, are issued on the server with{" "}
        <code>glassgate keys create --aws</code> and listed here too.
      </p>
      <form className="inline-form" onSubmit={submit}>
        <label>
          Project{" "}
          <input
            required
            aria-label="Project"
            list="project-options"
            value={project}
            onChange={(e) => setProject(e.target.value)}
          />
        </label>
        <datalist id="project-options">
          {projects.data?.data.map((item) => <option key={item.name} value={item.name} />)}
        </datalist>
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create key"}
        </button>
      </form>
      {create.isError ? <ErrorBox error={create.error} /> : null}
      {issued ? (
        <div className="issued" role="status" data-testid="issued-key">
          <strong>New key for {issued.project}</strong>
          <p>Copy it now: it will not be shown again.</p>
          <div className="issued-value">
            <code>{issued.key}</code>
            <CopyButton text={issued.key} />
          </div>
          <button type="button" className="link-button" onClick={() => setIssued(null)}>
            I have copied it
          </button>
        </div>
      ) : null}
      {keys.isPending ? (
        <Spinner />
      ) : keys.isError ? (
        <LoadError error={keys.error} what="keys" />
      ) : keys.data.data.length === 0 ? (
        <p className="muted">No keys yet.</p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>Key</th>
              <th>Project</th>
              <th>Created</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.data.data.map((key) => (
              <tr key={key.key_id} className={key.revoked_at ? "revoked" : ""}>
                <KeyCell label={keyLabel(key)} />
                <td>{key.project}</td>
                <td>{formatTimestamp(key.created_at)}</td>
                <td>{key.revoked_at ? `revoked ${formatTimestamp(key.revoked_at)}` : "active"}</td>
                <td className="num">{key.revoked_at ? null : <Revoke keyId={key.key_id} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function KeyCell({ label }: { label: { name: string; detail: string } }) {
  return (
    <td className="mono">
      {label.name} <span className="muted small">{label.detail}</span>
    </td>
  );
}

function Revoke({ keyId }: { keyId: string }) {
  const client = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const revoke = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/keys/{key_id}", { params: { path: { key_id: keyId } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: KEYS }),
  });
  if (revoke.isError) return <ErrorBox error={revoke.error} />;
  if (!confirming) {
    return (
      <button type="button" className="btn btn-small" onClick={() => setConfirming(true)}>
        Revoke
      </button>
    );
  }
  return (
    <span className="confirm">
      Clients using it stop working.{" "}
      <button type="button" className="btn btn-small btn-danger" disabled={revoke.isPending} onClick={() => revoke.mutate()}>
        Revoke
      </button>{" "}
      <button type="button" className="btn btn-small" onClick={() => setConfirming(false)}>
        Cancel
      </button>
    </span>
  );
}
