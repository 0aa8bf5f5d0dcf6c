import { createBrowserRouter, Navigate } from "react-router";

import { RequireAuth } from "../features/auth/RequireAuth";
import { SignInPage } from "../features/auth/SignInPage";
import { Layout } from "../features/layout/Layout";
import { ComingSoon, NotFound } from "../features/placeholders/ComingSoon";
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
        element: (
          <ComingSoon title="Annotation">
            <p>Score calls by hand, in queues shared by your team. Until then, open a trace to review it.</p>
          </ComingSoon>
        ),
      },
      {
        path: "datasets",
        element: (
          <ComingSoon title="Datasets">
            <p>Collect calls into versioned datasets and run experiments on them.</p>
          </ComingSoon>
        ),
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
