import { useInfiniteQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import type { SessionPage } from "../../api/types";

const PAGE_SIZE = 50;

/** Sessions by latest activity, a page at a time; `q` keeps those whose id starts with it. */
export function useSessions(q: string) {
  return useInfiniteQuery({
    queryKey: ["sessions", q],
    queryFn: ({ pageParam, signal }) =>
      unwrap<SessionPage>(
        api.GET("/api/v1/sessions", {
          params: { query: { limit: PAGE_SIZE, ...(q ? { q } : {}), ...(pageParam ? { cursor: pageParam } : {}) } },
          signal,
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    staleTime: 10_000,
  });
}
