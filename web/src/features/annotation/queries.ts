/** Score configs, annotations and queues: the server state the annotation pages and panels share. */
import { useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import type { Annotation, AnnotationQueue, ClaimedItem, ScoreConfig, ScoreConfigCreate } from "../../api/types";
import { useSession } from "../auth/session";
import type { ScoreValue } from "./scoring";

export const CONFIGS_KEY = ["score-configs"] as const;
export const QUEUES_KEY = ["annotation-queues"] as const;

/** The name the server records on what the caller writes (api/auth.py's `Principal.author`). */
export function useAuthor(): string {
  const session = useSession();
  return session.data?.user?.email ?? "admin-token";
}

export function useScoreConfigs(includeArchived = false) {
  return useQuery({
    queryKey: [...CONFIGS_KEY, { includeArchived }],
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/score-configs", { params: { query: { include_archived: includeArchived } }, signal }),
      ).then((list): ScoreConfig[] => list.data),
    staleTime: 60_000,
  });
}

export function useCreateScoreConfig() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ScoreConfigCreate) => unwrap(api.POST("/api/v1/score-configs", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: CONFIGS_KEY }),
  });
}

export function useArchiveScoreConfig() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ configId, archived }: { configId: string; archived: boolean }) =>
      unwrap(
        api.PATCH("/api/v1/score-configs/{config_id}", {
          params: { path: { config_id: configId } },
          body: { archived },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: CONFIGS_KEY }),
  });
}

export function useAnnotations(spanId: string) {
  return useQuery({
    queryKey: ["annotations", spanId],
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/spans/{span_id}/annotations", { params: { path: { span_id: spanId } }, signal })).then(
        (list): Annotation[] => list.data,
      ),
    staleTime: 10_000,
  });
}

/** After a score changes: the span's annotations, its summary and every list that shows scores. */
function refreshScores(client: QueryClient, spanId: string): void {
  void client.invalidateQueries({ queryKey: ["annotations", spanId] });
  void client.invalidateQueries({ queryKey: ["span", spanId] });
  void client.invalidateQueries({ queryKey: ["spans"] });
  void client.invalidateQueries({ queryKey: QUEUES_KEY });
}

export interface Score {
  configId: string;
  value: ScoreValue;
  comment: string;
}

/** A human score: the server keeps one per author, span and config, so posting again updates it. */
export function useAnnotate(spanId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (score: Score) =>
      unwrap(
        api.POST("/api/v1/spans/{span_id}/annotations", {
          params: { path: { span_id: spanId } },
          body: { config_id: score.configId, value: score.value, comment: score.comment, source: "human" },
        }),
      ),
    onSuccess: (saved) => {
      // Only a loaded list: seeding one that is not would show this annotation alone as the
      // span's whole list (say, after the reviewer moved on) until the refetch lands.
      client.setQueryData<Annotation[]>(["annotations", spanId], (known) =>
        known ? [...known.filter((entry) => entry.annotation_id !== saved.annotation_id), saved] : known,
      );
      refreshScores(client, spanId);
    },
  });
}

export function useDeleteAnnotation(spanId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (annotationId: string) =>
      unwrap(api.DELETE("/api/v1/annotations/{annotation_id}", { params: { path: { annotation_id: annotationId } } })),
    onSuccess: () => refreshScores(client, spanId),
  });
}

export function useQueues() {
  return useQuery({
    queryKey: QUEUES_KEY,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/annotation-queues", { signal })).then((list): AnnotationQueue[] => list.data),
    staleTime: 5_000,
  });
}

export function useQueue(queueId: string) {
  return useQuery({
    queryKey: [...QUEUES_KEY, queueId],
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/annotation-queues/{queue_id}", { params: { path: { queue_id: queueId } }, signal })),
  });
}

export function useCreateQueue() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; description: string; config_ids: string[] }) =>
      unwrap(api.POST("/api/v1/annotation-queues", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: QUEUES_KEY }),
  });
}

export function useAddToQueue() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ queueId, spanIds }: { queueId: string; spanIds: string[] }) =>
      unwrap(
        api.POST("/api/v1/annotation-queues/{queue_id}/items", {
          params: { path: { queue_id: queueId } },
          body: { span_ids: spanIds },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: QUEUES_KEY }),
  });
}

/** The caller's next item, locked to them for five minutes; null when nothing is left for them. */
export async function claimNext(queueId: string): Promise<ClaimedItem | null> {
  const outcome = await unwrap(
    api.POST("/api/v1/annotation-queues/{queue_id}/next", { params: { path: { queue_id: queueId } } }),
  );
  return (outcome as ClaimedItem | undefined) ?? null;
}

export type ItemAction = "complete" | "skip" | "release";

export function resolveItem(queueId: string, spanId: string, action: ItemAction) {
  const path = { params: { path: { queue_id: queueId, span_id: spanId } } };
  switch (action) {
    case "complete":
      return unwrap(api.POST("/api/v1/annotation-queues/{queue_id}/items/{span_id}/complete", path));
    case "skip":
      return unwrap(api.POST("/api/v1/annotation-queues/{queue_id}/items/{span_id}/skip", path));
    case "release":
      return unwrap(api.POST("/api/v1/annotation-queues/{queue_id}/items/{span_id}/release", path));
  }
}
