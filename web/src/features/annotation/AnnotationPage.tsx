import "./annotation.css";

import { TabbedPage } from "../../components/TabbedPage";
import { QueuesPanel } from "./QueuesPanel";
import { ScoreConfigsPanel } from "./ScoreConfigsPanel";

const TABS = {
  queues: { label: "Queues", render: () => <QueuesPanel /> },
  configs: { label: "Score configs", render: () => <ScoreConfigsPanel /> },
};

/** Annotation: review queues, and the score configs reviewers fill in. */
export function AnnotationPage() {
  return <TabbedPage title="Annotation" tabs={TABS} />;
}
