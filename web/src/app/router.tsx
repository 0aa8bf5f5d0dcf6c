import type { ComponentType } from "react";
import { createBrowserRouter, Navigate } from "react-router";

import { Spinner } from "../components/feedback";
import { RequireAuth } from "../features/auth/RequireAuth";
import { SignInPage } from "../features/auth/SignInPage";
import { Layout } from "../features/layout/Layout";
import { NotFound } from "../features/placeholders/NotFound";
import { TracesPage } from "../features/traces/TracesPage";

// The trace list is the landing page and is in the main bundle; the other pages load on demand.
// A page opened directly (a bookmark, a reload) shows the layout and a spinner while its code
// loads, instead of a blank screen.
function onDemand(load: () => Promise<ComponentType>) {
  return {
    lazy: () => load().then((Component) => ({ Component })),
    hydrateFallbackElement: <Spinner />,
  };
}

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
        ...onDemand(() => import("../features/trace/TraceDetailPage").then((m) => m.TraceDetailPage)),
      },
      {
        path: "sessions",
        ...onDemand(() => import("../features/sessions/SessionsPage").then((m) => m.SessionsPage)),
      },
      {
        path: "sessions/:sessionId",
        ...onDemand(() => import("../features/sessions/SessionPage").then((m) => m.SessionPage)),
      },
      {
        path: "dashboards",
        ...onDemand(() => import("../features/dashboards/DashboardsPage").then((m) => m.DashboardsPage)),
      },
      {
        path: "annotation",
        ...onDemand(() => import("../features/annotation/AnnotationPage").then((m) => m.AnnotationPage)),
      },
      {
        path: "annotation/queues/:queueId",
        ...onDemand(() => import("../features/annotation/ReviewPage").then((m) => m.ReviewPage)),
      },
      {
        path: "datasets",
        ...onDemand(() => import("../features/datasets/DatasetsPage").then((m) => m.DatasetsPage)),
      },
      {
        path: "datasets/:datasetId",
        ...onDemand(() => import("../features/datasets/DatasetPage").then((m) => m.DatasetPage)),
      },
      {
        path: "map",
        ...onDemand(() => import("../features/map/MapPage").then((m) => m.MapPage)),
      },
      {
        path: "evals",
        ...onDemand(() => import("../features/evals/EvalsPage").then((m) => m.EvalsPage)),
      },
      {
        path: "evals/experiments/:experimentId",
        ...onDemand(() => import("../features/evals/ExperimentPage").then((m) => m.ExperimentPage)),
      },
      {
        path: "evals/compare",
        ...onDemand(() => import("../features/evals/ComparePage").then((m) => m.ComparePage)),
      },
      {
        path: "settings",
        ...onDemand(() => import("../features/settings/SettingsPage").then((m) => m.SettingsPage)),
      },
      { path: "*", element: <NotFound /> },
    ],
  },
  { path: "*", element: <Navigate to="/ui/traces" replace /> },
]);
