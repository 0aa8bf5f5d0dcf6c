import type { ReactNode } from "react";
import { useSearchParams } from "react-router";

export interface PageTab {
  label: string;
  render: () => ReactNode;
}

interface Props {
  title: string;
  /** In display order; the first is shown when the URL names none (or one that does not exist). */
  tabs: Record<string, PageTab>;
}

/** A page of tabs whose choice lives in the URL (`?tab=`), so it survives a reload and can be shared. */
export function TabbedPage({ title, tabs }: Props) {
  const [params, setParams] = useSearchParams();
  const entries = Object.entries(tabs);
  const requested = params.get("tab");
  const current = entries.find(([name]) => name === requested) ?? entries[0];
  return (
    <div className="page">
      <header className="page-header">
        <h1>{title}</h1>
      </header>
      <div className="tabs" role="tablist">
        {entries.map(([name, { label }]) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={current?.[0] === name}
            className={current?.[0] === name ? "active" : ""}
            onClick={() => setParams({ tab: name }, { replace: true })}
          >
            {label}
          </button>
        ))}
      </div>
      <section className="tab-panel" role="tabpanel">
        {current?.[1].render()}
      </section>
    </div>
  );
}
