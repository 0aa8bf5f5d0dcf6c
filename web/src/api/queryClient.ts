import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";

import { AUTH_KEY } from "../features/auth/session";
import { ProblemError } from "./problem";

/** A 401 anywhere means the session ended: re-read the auth state, which sends the user to sign in. */
function onError(error: unknown): void {
  if (error instanceof ProblemError && error.status === 401) {
    void queryClient.invalidateQueries({ queryKey: AUTH_KEY });
  }
}

export const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    queries: {
      // Client errors will not fix themselves; server and network errors get two more tries.
      retry: (failures, error) => !(error instanceof ProblemError && error.status >= 400 && error.status < 500) && failures < 2,
      refetchOnWindowFocus: false,
    },
  },
});
