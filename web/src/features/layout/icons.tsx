/** Line icons for the navigation (16 px, currentColor). */
const paths: Record<string, string> = {
  traces: "M2 4h12M2 8h8M2 12h10",
  sessions: "M3 3h10v7H7l-3 3v-3H3z",
  dashboards: "M2 14V8M6 14V3M10 14V6M14 14V10",
  annotation: "M3 13l1-3 7-7 2 2-7 7zM9 5l2 2",
  datasets: "M3 4c0-1 10-1 10 0v8c0 1-10 1-10 0zM3 4c0 1 10 1 10 0M3 8c0 1 10 1 10 0",
  evals: "M3 8l3 3 7-7M3 14h10",
  map: "M4 4.5a1 1 0 1 0 0 .01M11 3.5a1 1 0 1 0 0 .01M6 11a1 1 0 1 0 0 .01M12 10a1 1 0 1 0 0 .01M8.5 7a1 1 0 1 0 0 .01",
  settings: "M8 5.5a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5zM8 1v2M8 13v2M1 8h2M13 8h2M3 3l1.5 1.5M11.5 11.5L13 13M3 13l1.5-1.5M11.5 4.5L13 3",
};

export function Icon({ name }: { name: keyof typeof paths | string }) {
  return (
    <svg width="16" height="16" viewBox="0 0 16 16" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
      <path d={paths[name] ?? ""} strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
