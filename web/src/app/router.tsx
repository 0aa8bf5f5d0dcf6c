import { createBrowserRouter, Navigate } from "react-router";

import { RequireAuth } from "../features/auth/RequireAuth";
import { SignInPage } from "../features/auth/SignInPage";
import { Layout } from "../features/layout/Layout";
import { NotFound } from "../features/placeholders/NotFound";
import { TracesPage } from "../features/traces/TracesPage";

// The trace list is the landing page and is in the main bundle; the other pages load on demand.
export const router = createBrowserRouter([
  { path: "/", element: <Navigate to="/ui/traces" replace /> },
  { path: "/ui/login", element: <SignInPage /> },
  {
    path: "/ui",
    element: (
      <RequireAuth>
        <Layout />
      </RequireAuth>
    ),
    children: [
      { index: true, element: <Navigate to="/ui/traces" replace /> },
      { path: "traces", element: <TracesPage /> },
      {
        path: "traces/:spanId",
        lazy: () => import("../features/trace/TraceDetailPage").then((m) => ({ Component: m.TraceDetailPage })),
      },
      {
        path: "sessions",
        lazy: () => import("../features/sessions/SessionsPage").then((m) => ({ Component: m.SessionsPage })),
      },
      {
        path: "sessions/:sessionId",
        lazy: () => import("../features/sessions/SessionPage").then((m) => ({ Component: m.SessionPage })),
      },
      {
        path: "dashboards",
        lazy: () => import("../features/dashboards/DashboardsPage").then((m) => ({ Component: m.DashboardsPage })),
      },
      {
        path: "annotation",
        lazy: () => import("../features/annotation/AnnotationPage").then((m) => ({ Component: m.AnnotationPage })),
      },
      {
        path: "annotation/queues/:queueId",
        lazy: () => import("../features/annotation/ReviewPage").then((m) => ({ Component: m.ReviewPage })),
      },
      {
        path: "datasets",
        lazy: () => import("../features/datasets/DatasetsPage").then((m) => ({ Component: m.DatasetsPage })),
      },
      {
        path: "datasets/:datasetId",
        lazy: () => import("../features/datasets/DatasetPage").then((m) => ({ Component: m.DatasetPage })),
      },
      {
        path: "map",
        lazy: () => import("../features/map/MapPage").then((m) => ({ Component: m.MapPage })),
      },
      {
        path: "evals",
        lazy: () => import("../features/evals/EvalsPage").then((m) => ({ Component: m.EvalsPage })),
      },
      {
        path: "evals/experiments/:experimentId",
        lazy: () => import("../features/evals/ExperimentPage").then((m) => ({ Component: m.ExperimentPage })),
      },
      {
        path: "evals/compare",
        lazy: () => import("../features/evals/ComparePage").then((m) => ({ Component: m.ComparePage })),
      },
      {
        path: "settings",
        lazy: () => import("../features/settings/SettingsPage").then((m) => ({ Component: m.SettingsPage })),
      },
      { path: "*", element: <NotFound /> },
    ],
  },
  { path: "*", element: <Navigate to="/ui/traces" replace /> },
]);
