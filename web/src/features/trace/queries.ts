import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import type { SpanDetail } from "../../api/types";

export function useSpan(spanId: string) {
  return useQuery({
    queryKey: ["span", spanId],
    queryFn: ({ signal }) =>
      unwrap<SpanDetail>(api.GET("/api/v1/spans/{span_id}", { params: { path: { span_id: spanId } }, signal })),
    staleTime: 60_000,
  });
}

/** The call as a vendor-neutral conversation, read by the server from the stored bodies. */
export function useConversation(spanId: string) {
  return useQuery({
    queryKey: ["conversation", spanId],
    staleTime: 60_000,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/spans/{span_id}/conversation", { params: { path: { span_id: spanId } }, signal })),
  });
}

export function useTrace(traceId: string | undefined) {
  return useQuery({
    queryKey: ["trace", traceId],
    enabled: Boolean(traceId),
    staleTime: 30_000,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/traces/{trace_id}", { params: { path: { trace_id: traceId ?? "" } }, signal })),
  });
}
