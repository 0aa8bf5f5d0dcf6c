import { useVirtualizer } from "@tanstack/react-virtual";
import { useMemo, useRef, useState } from "react";

import { CopyButton } from "../../components/CopyButton";
import { formatBytes } from "../../components/format";
import { gate, prettyJson, utf8Bytes, wrapRows } from "./sizeGate";

const ROW_PX = 18;

/** A request or response body: whole when small, gated when large (see sizeGate.ts). */
export function JsonView({ value, name }: { value: unknown; name: string }) {
  const text = useMemo(() => prettyJson(value), [value]);
  const gated = useMemo(() => gate(text), [text]);
  const bytes = useMemo(() => utf8Bytes(text), [text]);
  const [showAll, setShowAll] = useState(false);
  if (!text) return <p className="muted">Nothing recorded.</p>;
  const download = () => {
    const url = URL.createObjectURL(new Blob([text], { type: typeof value === "string" ? "text/plain" : "application/json" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `${name}.json`;
    link.click();
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <div className="json-view">
      <div className="json-toolbar">
        <span className="muted">{formatBytes(bytes)}</span>
        {gated.truncated ? null : <CopyButton text={text} />}
        <button type="button" className="btn btn-small" onClick={download}>
          Download
        </button>
      </div>
      {showAll ? <VirtualText text={text} /> : <pre className="json">{gated.head}</pre>}
      {gated.truncated && !showAll ? (
        <div className="gate-note" data-testid="size-gate">
          Showing the first {formatBytes(utf8Bytes(gated.head))} of {formatBytes(bytes)}.{" "}
          <button type="button" className="btn btn-small" onClick={() => setShowAll(true)}>
            Show all
          </button>{" "}
          <button type="button" className="btn btn-small" onClick={download}>
            Download
          </button>
        </div>
      ) : null}
    </div>
  );
}

/** Every row of a large text, only the visible ones in the DOM. */
function VirtualText({ text }: { text: string }) {
  const rows = useMemo(() => wrapRows(text), [text]);
  const parent = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parent.current,
    estimateSize: () => ROW_PX,
    overscan: 30,
  });
  return (
    <div ref={parent} className="json virtual-text" data-testid="virtual-text">
      <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
        {virtualizer.getVirtualItems().map((item) => (
          <div key={item.index} className="virtual-row" style={{ transform: `translateY(${item.start}px)`, height: ROW_PX }}>
            {rows[item.index]}
          </div>
        ))}
      </div>
    </div>
  );
}
