/**
 * Who is signed in, from GET /api/v1/auth/state. The session is an HttpOnly cookie the app never
 * sees; a request with the admin token (`Authorization: Bearer`, set by a proxy in front) counts
 * as signed in without a user.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import type { AuthState } from "../../api/types";

export type Session = AuthState;

export const AUTH_KEY = ["auth", "state"] as const;

function fetchSession(): Promise<Session> {
  return unwrap(api.GET("/api/v1/auth/state"));
}

export function useSession() {
  return useQuery({ queryKey: AUTH_KEY, queryFn: fetchSession, staleTime: 60_000, retry: 1 });
}

export function useSignIn() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; password: string }) => unwrap(api.POST("/api/v1/auth/login", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: AUTH_KEY }),
  });
}

export function useSetup() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; password: string; name: string }) =>
      unwrap(api.POST("/api/v1/auth/setup", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: AUTH_KEY }),
  });
}

export function useSignOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/auth/logout")),
    onSettled: () => {
      client.clear();
      return client.invalidateQueries({ queryKey: AUTH_KEY });
    },
  });
}

/** Where to go after signing in: only paths inside the app, never another origin. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/ui/") || next.startsWith("/ui/login")) return "/ui/traces";
  return next;
}
