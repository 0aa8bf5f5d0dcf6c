import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";

import { ErrorBox, Spinner } from "../../components/feedback";
import { useSession } from "./session";

export function RequireAuth({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
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
  if (!session.data.signed_in) {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/ui/login?next=${next}`} replace />;
  }
  return <>{children}</>;
}
