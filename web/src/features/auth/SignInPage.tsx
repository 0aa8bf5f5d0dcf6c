import { type FormEvent, useState } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";

import { ErrorBox, Spinner } from "../../components/feedback";
import { Logo } from "../layout/Logo";
import { safeNext, useSession, useSetup, useSignIn } from "./session";

export function SignInPage() {
  const session = useSession();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  if (session.isPending) {
    return (
      <div className="center-page">
        <Spinner />
      </div>
    );
  }
  if (session.isError) {
    return (
      <div className="center-page">
        <ErrorBox error={session.error} />
      </div>
    );
  }
  if (session.data.signed_in) return <Navigate to={next} replace />;
  return (
    <div className="center-page">
      <div className="auth-card">
        <div className="auth-brand">
          <Logo />
          <span>Glassgate</span>
        </div>
        {session.data.setup_required ? <SetupForm next={next} /> : <SignInForm next={next} />}
      </div>
    </div>
  );
}

function SignInForm({ next }: { next: string }) {
  const signIn = useSignIn();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate({ email, password }, { onSuccess: () => navigate(next, { replace: true }) });
  };
  return (
    <form className="form" onSubmit={submit}>
      <h1>Sign in</h1>
      <label>
        Email
        <input type="email" autoComplete="username" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label>
        Password
        <input
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      {signIn.isError ? <ErrorBox error={signIn.error} signedIn={false} /> : null}
      <button className="btn btn-primary" type="submit" disabled={signIn.isPending}>
        {signIn.isPending ? "Signing in…" : "Sign in"}
      </button>
      <p className="hint">
        No account, or forgot the password? An admin adds users and sets passwords under Settings → Users (or with
        <code> glassgate users create</code> on the server).
      </p>
    </form>
  );
}

function SetupForm({ next }: { next: string }) {
  const setup = useSetup();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setup.mutate({ name, email, password }, { onSuccess: () => navigate(next, { replace: true }) });
  };
  return (
    <form className="form" onSubmit={submit}>
      <h1>Create the first account</h1>
      <p className="hint">This Glassgate has no users yet. The account you create here is its admin.</p>
      <label>
        Name
        <input autoComplete="name" required autoFocus value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Email
        <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label>
        Password
        <input
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      {setup.isError ? <ErrorBox error={setup.error} signedIn={false} /> : null}
      <button className="btn btn-primary" type="submit" disabled={setup.isPending}>
        {setup.isPending ? "Creating…" : "Create account and sign in"}
      </button>
    </form>
  );
}
