import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { useLocation, useNavigate, useSearchParams } from "react-router";

import { api, unwrap } from "../../api/client";
import type { ListedSpan } from "../../api/types";
import { EmptyState, ErrorBox, Spinner } from "../../components/feedback";
import { FilterBar } from "./FilterBar";
import { apiQuery, EMPTY_FILTERS, filtersFromSearch, searchFromFilters, type TraceFilters } from "./filters";
import { dedupe, mergeNewest } from "./live";
import { Onboarding } from "./Onboarding";
import { PAGE_SIZE, useNewestPage, useSpanPages } from "./queries";
import { NO_SELECTION, selectedInOrder, type Selection, toggle, toggleAll } from "./selection";
import { TraceTable } from "./TraceTable";

// The bulk actions' dialogs load when first opened: the trace list stays a small first load.
const AddToDatasetDialog = lazy(() =>
  import("../datasets/AddToDatasetDialog").then((m) => ({ default: m.AddToDatasetDialog })),
);
const AddToQueueDialog = lazy(() =>
  import("../annotation/AddToQueueDialog").then((m) => ({ default: m.AddToQueueDialog })),
);
type Dialog = "dataset" | "queue" | null;
/** The most spans the dataset and queue APIs take at once. */
const MAX_BULK = 1000;

export function TracesPage() {
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const navigate = useNavigate();
  const filters = useMemo(() => filtersFromSearch(params), [params]);
  // The list restarts when what it shows changes; toggling live tail keeps it.
  const listKey = searchFromFilters({ ...filters, live: false }).toString();
  const [refreshes, setRefreshes] = useState(0);
  // A preset range counts back from when the list (re)starts, so every page asks for the same range.
  const anchor = useMemo(() => Date.now(), [listKey, refreshes]);
  const query = useMemo(() => apiQuery(filters, anchor), [listKey, anchor]);
  const pages = useSpanPages(query);
  const newest = useNewestPage(query, filters.live);
  const [liveRows, setLiveRows] = useState<ListedSpan[]>([]);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  useEffect(() => setLiveRows([]), [query]);

  const listed = useMemo(() => pages.data?.pages.flatMap((page) => page.data) ?? [], [pages.data]);
  const rows = useMemo(() => dedupe([...liveRows, ...listed]), [liveRows, listed]);
  const order = useMemo(() => rows.map((span) => span.span_id), [rows]);
  const [selection, setSelection] = useState<Selection>(NO_SELECTION);
  const [dialog, setDialog] = useState<Dialog>(null);
  useEffect(() => setSelection(NO_SELECTION), [listKey]);
  const pick = useCallback(
    (spanId: string, range: boolean) => setSelection((current) => toggle(current, order, spanId, range)),
    [order],
  );
  const pickAll = useCallback(() => setSelection((current) => toggleAll(current, order)), [order]);
  const picked = selectedInOrder(selection, order);

  useEffect(() => {
    if (!filters.live || !newest.data || !pages.data) return;
    const merge = mergeNewest(rows, newest.data.data, PAGE_SIZE);
    if (merge.gap) {
      setRefreshes((count) => count + 1);
    } else if (merge.added.length) {
      const added = new Set(merge.added);
      setLiveRows((previous) => dedupe([...merge.rows.filter((span) => added.has(span.span_id)), ...previous]));
      setFresh(added);
    }
    // Only a new poll result triggers a merge.
  }, [newest.data]);

  useEffect(() => {
    if (fresh.size === 0) return;
    const timer = window.setTimeout(() => setFresh(new Set()), 2500);
    return () => window.clearTimeout(timer);
  }, [fresh]);

  const upstreams = useQuery({
    queryKey: ["upstreams"],
    queryFn: () => unwrap(api.GET("/api/v1/upstreams")),
    staleTime: 5 * 60_000,
    retry: false,
  });
  const suggestions = useMemo(() => {
    const names = new Set(upstreams.data?.data.map((upstream) => upstream.name) ?? []);
    const models = new Set<string>();
    for (const span of rows) {
      if (span.upstream) names.add(span.upstream);
      if (span.model) models.add(span.model);
    }
    return { upstreams: [...names].sort(), models: [...models].sort() };
  }, [rows, upstreams.data]);

  const setFilters = useCallback(
    (next: TraceFilters) => setParams(searchFromFilters(next), { replace: true }),
    [setParams],
  );
  const open = useCallback(
    (span: ListedSpan) => navigate(`/ui/traces/${span.span_id}`, { state: { from: location.search } }),
    [navigate, location.search],
  );
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = pages;
  const loadMore = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  const filtered = listKey !== "";
  const nextPageError = pages.isFetchNextPageError ? pages.error : null;

  return (
    <div className="page">
      <header className="page-header">
        <h1>Traces</h1>
        <span className="muted">
          {pages.isSuccess ? `${rows.length}${hasNextPage ? "+" : ""} calls` : ""}
          {filters.live ? <span className="live-note"> · live{newest.isFetching ? "…" : ""}</span> : null}
        </span>
      </header>
      <FilterBar
        filters={filters}
        onChange={setFilters}
        onRefresh={() => setRefreshes((count) => count + 1)}
        suggestions={suggestions}
      />
      {pages.isPending ? (
        <Spinner label="Loading traces…" />
      ) : !pages.data ? (
        <ErrorBox
          error={pages.error}
          action={
            <button type="button" className="btn" onClick={() => void pages.refetch()}>
              Try again
            </button>
          }
        />
      ) : rows.length === 0 ? (
        filtered ? (
          <EmptyState title="No calls match these filters">
            <p>Widen the time range, check the spelling of a model or upstream, or clear the filters.</p>
            <button type="button" className="btn" onClick={() => setFilters({ ...EMPTY_FILTERS, live: filters.live })}>
              Clear filters
            </button>
          </EmptyState>
        ) : (
          <Onboarding />
        )
      ) : (
        <>
          <TraceTable
            rows={rows}
            fresh={fresh}
            linkState={{ from: location.search }}
            onOpen={open}
            onNearEnd={loadMore}
            picked={selection.ids}
            onPick={pick}
            onPickAll={pickAll}
          />
          <div className="list-footer">
            {hasNextPage ? (
              <button type="button" className="btn" onClick={loadMore} disabled={isFetchingNextPage}>
                {isFetchingNextPage ? "Loading…" : "Load more"}
              </button>
            ) : (
              <span className="muted">That is every matching call.</span>
            )}
            {nextPageError ? <ErrorBox error={nextPageError} /> : null}
          </div>
        </>
      )}
      {picked.length ? (
        <div className="bulk-bar" role="toolbar" aria-label="Selected calls">
          <span>
            {picked.length} selected
            {picked.length > MAX_BULK ? ` (at most ${MAX_BULK.toLocaleString("en-US")} at a time)` : ""}
          </span>
          <button type="button" className="btn" disabled={picked.length > MAX_BULK} onClick={() => setDialog("dataset")}>
            Add to dataset
          </button>
          <button type="button" className="btn" disabled={picked.length > MAX_BULK} onClick={() => setDialog("queue")}>
            Add to queue
          </button>
          <button type="button" className="link-button" onClick={() => setSelection(NO_SELECTION)}>
            Clear
          </button>
        </div>
      ) : null}
      <Suspense fallback={null}>
        {dialog === "dataset" ? <AddToDatasetDialog spanIds={picked} onClose={() => setDialog(null)} /> : null}
        {dialog === "queue" ? <AddToQueueDialog spanIds={picked} onClose={() => setDialog(null)} /> : null}
      </Suspense>
    </div>
  );
}
