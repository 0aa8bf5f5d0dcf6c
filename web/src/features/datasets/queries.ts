/** Datasets, their versions and items: the server state of the datasets pages and the "Add to dataset" dialog. */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import type { Dataset, DatasetVersion, ItemDraft } from "../../api/types";

export const DATASETS_KEY = ["datasets"] as const;
const ITEMS_PAGE = 100;

export function useDatasets() {
  return useQuery({
    queryKey: DATASETS_KEY,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/datasets", { signal })).then((list): Dataset[] => list.data),
    staleTime: 10_000,
  });
}

export function useDataset(datasetId: string) {
  return useQuery({
    queryKey: [...DATASETS_KEY, datasetId],
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/datasets/{dataset_id}", { params: { path: { dataset_id: datasetId } }, signal })),
  });
}

export function useVersions(datasetId: string) {
  return useQuery({
    queryKey: [...DATASETS_KEY, datasetId, "versions"],
    enabled: Boolean(datasetId),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/datasets/{dataset_id}/versions", { params: { path: { dataset_id: datasetId } }, signal }),
      ).then((list): DatasetVersion[] => list.data),
  });
}

/** A version's items, a page at a time; `version` undefined is the latest. */
export function useItems(datasetId: string, version: number | undefined) {
  return useInfiniteQuery({
    queryKey: [...DATASETS_KEY, datasetId, "items", version ?? "latest"],
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/datasets/{dataset_id}/items", {
          params: {
            path: { dataset_id: datasetId },
            query: {
              limit: ITEMS_PAGE,
              ...(version === undefined ? {} : { version }),
              ...(pageParam ? { cursor: pageParam } : {}),
            },
          },
          signal,
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useCreateDataset() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; description: string }) => unwrap(api.POST("/api/v1/datasets", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: DATASETS_KEY }),
  });
}

/** Every change makes a version: refresh the dataset, its versions and its items. */
function useRefresh(datasetId: string) {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: DATASETS_KEY, exact: true });
    void client.invalidateQueries({ queryKey: [...DATASETS_KEY, datasetId] });
  };
}

export function useAddItems() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ datasetId, items, note }: { datasetId: string; items: ItemDraft[]; note: string }) =>
      unwrap(
        api.POST("/api/v1/datasets/{dataset_id}/items", {
          params: { path: { dataset_id: datasetId } },
          body: { items, note },
        }),
      ),
    onSuccess: (_result, { datasetId }) => {
      void client.invalidateQueries({ queryKey: DATASETS_KEY, exact: true });
      void client.invalidateQueries({ queryKey: [...DATASETS_KEY, datasetId] });
    },
  });
}

export interface ItemEdit {
  itemId: string;
  input: unknown;
  expected_output: unknown;
  metadata: Record<string, unknown>;
  note: string;
  /** The version edited from: the server refuses (409) when the item changed after it. */
  baseVersion: number;
}

export function useEditItem(datasetId: string) {
  const refresh = useRefresh(datasetId);
  return useMutation({
    mutationFn: (edit: ItemEdit) =>
      unwrap(
        api.PATCH("/api/v1/datasets/{dataset_id}/items/{item_id}", {
          params: { path: { dataset_id: datasetId, item_id: edit.itemId } },
          body: {
            input: edit.input,
            expected_output: edit.expected_output,
            metadata: edit.metadata,
            note: edit.note,
            base_version: edit.baseVersion,
          },
        }),
      ),
    onSuccess: refresh,
  });
}

export function useDeleteItem(datasetId: string) {
  const refresh = useRefresh(datasetId);
  return useMutation({
    mutationFn: ({ itemId, baseVersion }: { itemId: string; baseVersion: number }) =>
      unwrap(
        api.DELETE("/api/v1/datasets/{dataset_id}/items/{item_id}", {
          params: {
            path: { dataset_id: datasetId, item_id: itemId },
            query: { base_version: baseVersion, note: `deleted item ${itemId}` },
          },
        }),
      ),
    onSuccess: refresh,
  });
}

export type FileFormat = "csv" | "jsonl";

/** The file's format from its name, as the server would read it. */
export function formatOf(fileName: string): FileFormat | null {
  const name = fileName.toLowerCase();
  if (name.endsWith(".csv")) return "csv";
  if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) return "jsonl";
  return null;
}

export function useImport(datasetId: string) {
  const refresh = useRefresh(datasetId);
  return useMutation({
    mutationFn: async ({ file, format, note }: { file: File; format: FileFormat; note: string }) =>
      unwrap(
        api.POST("/api/v1/datasets/{dataset_id}/import", {
          params: { path: { dataset_id: datasetId }, query: { format, ...(note ? { note } : {}) } },
          body: await file.text(),
          bodySerializer: (text) => text as string,
          headers: { "content-type": format === "csv" ? "text/csv" : "application/x-ndjson" },
        }),
      ),
    onSuccess: refresh,
  });
}

/** Where a version's file downloads from (a plain GET: the session cookie authenticates it). */
export function exportUrl(datasetId: string, format: FileFormat, version: number): string {
  const query = new URLSearchParams({ format, version: String(version) });
  return `/api/v1/datasets/${encodeURIComponent(datasetId)}/export?${query.toString()}`;
}

export function useDeleteDataset() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (datasetId: string) =>
      unwrap(api.DELETE("/api/v1/datasets/{dataset_id}", { params: { path: { dataset_id: datasetId } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: DATASETS_KEY }),
  });
}

/** Items made from spans, to edit before adding (nothing is saved). */
export function useDrafts(spanIds: string[]) {
  return useQuery({
    queryKey: ["item-drafts", spanIds],
    queryFn: ({ signal }) =>
      unwrap(api.POST("/api/v1/datasets/item-drafts", { body: { span_ids: spanIds }, signal })).then(
        (list): ItemDraft[] => list.data,
      ),
    staleTime: Infinity,
    gcTime: 0,
  });
}
