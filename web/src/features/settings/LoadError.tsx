import { isProblem } from "../../api/problem";
import { ErrorBox } from "../../components/feedback";

/** A settings list that failed: a member lacking the admin role gets a sentence, not an error. */
export function LoadError({ error, what }: { error: unknown; what: string }) {
  if (isProblem(error, 403)) {
    return <div className="note">Only admins can see {what}. Ask an admin of this Glassgate.</div>;
  }
  return <ErrorBox error={error} />;
}
