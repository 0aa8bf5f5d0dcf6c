import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";

import { api, unwrap } from "../../api/client";
import type { User } from "../../api/types";
import { ErrorBox, Spinner } from "../../components/feedback";
import { formatTimestamp } from "../../components/format";
import { LoadError } from "./LoadError";

const USERS = ["users"] as const;
const EMPTY = { email: "", name: "", password: "", role: "member" as "admin" | "member" };

export function UsersPanel() {
  const client = useQueryClient();
  const users = useQuery({ queryKey: USERS, queryFn: () => unwrap(api.GET("/api/v1/users")), retry: false });
  const [draft, setDraft] = useState(EMPTY);
  const create = useMutation({
    mutationFn: (body: typeof EMPTY) => unwrap(api.POST("/api/v1/users", { body })),
    onSuccess: () => {
      setDraft(EMPTY);
      return client.invalidateQueries({ queryKey: USERS });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(draft);
  };
  return (
    <>
      {users.isPending ? (
        <Spinner />
      ) : users.isError ? (
        <LoadError error={users.error} what="users" />
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
              <th>Created</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.data.data.map((user) => (
              <tr key={user.user_id}>
                <td>{user.name || "—"}</td>
                <td>{user.email}</td>
                <td>{user.role}</td>
                <td>{user.created_at ? formatTimestamp(user.created_at) : "—"}</td>
                <td>{user.disabled_at ? "disabled" : "active"}</td>
                <td className="num">
                  <UserActions user={user} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Add a user</h3>
      <form className="form form-grid" onSubmit={submit}>
        <label>
          Name
          <input required value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
        </label>
        <label>
          Email
          <input type="email" required value={draft.email} onChange={(e) => setDraft({ ...draft, email: e.target.value })} />
        </label>
        <label>
          Initial password
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            value={draft.password}
            onChange={(e) => setDraft({ ...draft, password: e.target.value })}
          />
        </label>
        <label>
          Role
          <select value={draft.role} onChange={(e) => setDraft({ ...draft, role: e.target.value as "admin" | "member" })}>
            <option value="member">Member</option>
            <option value="admin">Admin</option>
          </select>
        </label>
        <div>
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            {create.isPending ? "Adding…" : "Add user"}
          </button>
        </div>
      </form>
      {create.isError ? <ErrorBox error={create.error} /> : null}
      {create.isSuccess ? <div className="note">User added. Give them the password to sign in; they can change it.</div> : null}
    </>
  );
}

/** Disable or re-enable a user, or set a new password (both sign the user out everywhere). */
function UserActions({ user }: { user: User }) {
  const client = useQueryClient();
  const [password, setPassword] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: (body: { disabled?: boolean; password?: string }) =>
      unwrap(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: user.user_id } }, body })),
    onSuccess: () => {
      setPassword(null);
      return client.invalidateQueries({ queryKey: USERS });
    },
  });
  if (password !== null) {
    return (
      <form
        className="confirm"
        onSubmit={(event) => {
          event.preventDefault();
          change.mutate({ password });
        }}
      >
        <input
          type="password"
          aria-label={`New password for ${user.email}`}
          autoComplete="new-password"
          minLength={8}
          required
          autoFocus
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />{" "}
        <button type="submit" className="btn btn-small btn-primary" disabled={change.isPending}>
          Save
        </button>{" "}
        <button type="button" className="btn btn-small" onClick={() => setPassword(null)}>
          Cancel
        </button>
        {change.isError ? <ErrorBox error={change.error} /> : null}
      </form>
    );
  }
  return (
    <span className="confirm">
      <button type="button" className="btn btn-small" onClick={() => setPassword("")}>
        Set password
      </button>{" "}
      <button
        type="button"
        className="btn btn-small"
        disabled={change.isPending}
        onClick={() => change.mutate({ disabled: !user.disabled_at })}
      >
        {user.disabled_at ? "Enable" : "Disable"}
      </button>
      {change.isError ? <ErrorBox error={change.error} /> : null}
    </span>
  );
}
