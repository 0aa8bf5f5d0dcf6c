/** Prompt embeddings: similar calls, the map of prompts, the embedder's progress. */
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";

export function useSimilar(spanId: string, enabled: boolean, limit = 10) {
  return useQuery({
    queryKey: ["similar", spanId, limit],
    enabled,
    staleTime: 60_000,
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/spans/{span_id}/similar", {
          params: { path: { span_id: spanId }, query: { limit } },
          signal,
        }),
      ),
  });
}

export function useEmbeddingMap(since: string | undefined, limit = 2000, clusters = 8) {
  return useQuery({
    queryKey: ["embeddings", "map", since ?? "all", limit, clusters],
    staleTime: 30_000,
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/embeddings/map", {
          params: { query: { limit, clusters, ...(since ? { since } : {}) } },
          signal,
        }),
      ),
  });
}

export function useEmbeddingStatus() {
  return useQuery({
    queryKey: ["embeddings", "status"],
    staleTime: 10_000,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/embeddings/status", { signal })),
  });
}
