import { TabbedPage } from "../../components/TabbedPage";
import { KeysPanel } from "./KeysPanel";
import { UpstreamsPanel } from "./UpstreamsPanel";
import { UsersPanel } from "./UsersPanel";

const TABS = {
  keys: { label: "API keys", render: () => <KeysPanel /> },
  upstreams: { label: "Upstreams", render: () => <UpstreamsPanel /> },
  users: { label: "Users", render: () => <UsersPanel /> },
};

export function SettingsPage() {
  return <TabbedPage title="Settings" tabs={TABS} />;
}
