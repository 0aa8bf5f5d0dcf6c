import { useSearchParams } from "react-router";

import { KeysPanel } from "./KeysPanel";
import { UpstreamsPanel } from "./UpstreamsPanel";
import { UsersPanel } from "./UsersPanel";

const TABS = { keys: "API keys", upstreams: "Upstreams", users: "Users" } as const;
type Tab = keyof typeof TABS;

export function SettingsPage() {
  const [params, setParams] = useSearchParams();
  const requested = params.get("tab");
  const tab: Tab = requested && requested in TABS ? (requested as Tab) : "keys";
  return (
    <div className="page">
      <header className="page-header">
        <h1>Settings</h1>
      </header>
      <div className="tabs" role="tablist">
        {(Object.keys(TABS) as Tab[]).map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={tab === name}
            className={tab === name ? "active" : ""}
            onClick={() => setParams({ tab: name }, { replace: true })}
          >
            {TABS[name]}
          </button>
        ))}
      </div>
      <section className="tab-panel" role="tabpanel">
        {tab === "keys" ? <KeysPanel /> : null}
        {tab === "upstreams" ? <UpstreamsPanel /> : null}
        {tab === "users" ? <UsersPanel /> : null}
      </section>
    </div>
  );
}
