/** The trace list's server state: keyset pages, and the newest page polled for live tail. */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import type { SpanPage } from "../../api/types";
import type { SpanQuery } from "./filters";

export const PAGE_SIZE = 50;

export function fetchSpans(query: SpanQuery & { limit?: number; cursor?: string }, signal?: AbortSignal) {
  return unwrap<SpanPage>(api.GET("/api/v1/spans", { params: { query: { limit: PAGE_SIZE, ...query } }, signal }));
}

export function useSpanPages(query: SpanQuery) {
  return useInfiniteQuery({
    queryKey: ["spans", "pages", query],
    queryFn: ({ pageParam, signal }) => fetchSpans(pageParam ? { ...query, cursor: pageParam } : query, signal),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    staleTime: 10_000,
  });
}

export function useNewestPage(query: SpanQuery, enabled: boolean) {
  return useQuery({
    queryKey: ["spans", "newest", query],
    queryFn: ({ signal }) => fetchSpans(query, signal),
    enabled,
    refetchInterval: enabled ? 2000 : false,
    refetchIntervalInBackground: false,
    gcTime: 0,
  });
}
