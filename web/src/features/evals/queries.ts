/** Evaluation: evaluators, online rules, experiments and their runs, and run comparison. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import type { EvalRule, EvalRuleIn, EvalRun, Evaluator, EvaluatorIn, Experiment, ExperimentIn } from "../../api/types";

export const EVALUATORS_KEY = ["evaluators"] as const;
export const RULES_KEY = ["eval-rules"] as const;
export const EXPERIMENTS_KEY = ["experiments"] as const;

export function useEvaluators() {
  return useQuery({
    queryKey: EVALUATORS_KEY,
    staleTime: 10_000,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/evaluators", { signal })).then((list): Evaluator[] => list.data),
  });
}

export function useEvaluatorTypes() {
  return useQuery({
    queryKey: [...EVALUATORS_KEY, "types"],
    staleTime: Infinity,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/evaluators/types", { signal })).then((list) => list.data),
  });
}

export function useCreateEvaluator() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: EvaluatorIn) => unwrap(api.POST("/api/v1/evaluators", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: EVALUATORS_KEY }),
  });
}

export function useDeleteEvaluator() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (evaluatorId: string) =>
      unwrap(api.DELETE("/api/v1/evaluators/{evaluator_id}", { params: { path: { evaluator_id: evaluatorId } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: EVALUATORS_KEY }),
  });
}

export function useAgreement(evaluatorId: string, runId: string | undefined, enabled: boolean) {
  return useQuery({
    queryKey: [...EVALUATORS_KEY, evaluatorId, "agreement", runId ?? "all"],
    enabled,
    staleTime: 30_000,
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/evaluators/{evaluator_id}/agreement", {
          params: { path: { evaluator_id: evaluatorId }, query: runId ? { run: runId } : {} },
          signal,
        }),
      ),
  });
}

export function useRules() {
  return useQuery({
    queryKey: RULES_KEY,
    staleTime: 10_000,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/eval-rules", { signal })).then((list): EvalRule[] => list.data),
  });
}

export function useCreateRule() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: EvalRuleIn) => unwrap(api.POST("/api/v1/eval-rules", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: RULES_KEY }),
  });
}

export function useToggleRule() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ ruleId, enabled }: { ruleId: string; enabled: boolean }) =>
      unwrap(api.PATCH("/api/v1/eval-rules/{rule_id}", { params: { path: { rule_id: ruleId } }, body: { enabled } })),
    onSuccess: () => client.invalidateQueries({ queryKey: RULES_KEY }),
  });
}

export function useExperiments() {
  return useQuery({
    queryKey: EXPERIMENTS_KEY,
    staleTime: 5_000,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/experiments", { signal })).then((list): Experiment[] => list.data),
  });
}

export function useExperiment(experimentId: string) {
  return useQuery({
    queryKey: [...EXPERIMENTS_KEY, experimentId],
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/experiments/{experiment_id}", { params: { path: { experiment_id: experimentId } }, signal }),
      ),
  });
}

export function useCreateExperiment() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ExperimentIn) => unwrap(api.POST("/api/v1/experiments", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: EXPERIMENTS_KEY }),
  });
}

const RUNNING_POLL_MS = 1500;

/** An experiment's runs; polled while one is running, so progress moves. */
export function useRuns(experimentId: string) {
  return useQuery({
    queryKey: [...EXPERIMENTS_KEY, experimentId, "runs"],
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/experiments/{experiment_id}/runs", {
          params: { path: { experiment_id: experimentId } },
          signal,
        }),
      ).then((list): EvalRun[] => list.data),
    refetchInterval: (query) =>
      query.state.data?.some((run) => run.status === "running") ? RUNNING_POLL_MS : false,
  });
}

export function useStartRun(experimentId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/experiments/{experiment_id}/runs", { params: { path: { experiment_id: experimentId } } }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: EXPERIMENTS_KEY }),
  });
}

export function useCancelRun(experimentId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (runId: string) =>
      unwrap(
        api.POST("/api/v1/experiments/{experiment_id}/runs/{run_id}/cancel", {
          params: { path: { experiment_id: experimentId, run_id: runId } },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: EXPERIMENTS_KEY }),
  });
}

export function useComparison(runIds: string[]) {
  return useQuery({
    queryKey: ["compare", runIds],
    enabled: runIds.length >= 2,
    staleTime: 10_000,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/experiments/compare", { params: { query: { run: runIds, limit: 200 } }, signal })),
    refetchInterval: (query) =>
      query.state.data?.runs.some((run) => run.status === "running") ? RUNNING_POLL_MS * 2 : false,
  });
}
