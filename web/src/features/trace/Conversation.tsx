import { useState } from "react";

import type {
  Conversation as ConversationData,
  ConversationMessage,
  ConversationPart,
  GuardrailFinding,
} from "../../api/types";
import { findingsFor, type Located, segments } from "./highlight";
import { prettyJson } from "./sizeGate";

const CLAMP_CHARS = 20_000;

export function Conversation({ data, located }: { data: ConversationData; located: Located[] }) {
  const parameters = Object.entries(data.parameters);
  // Input findings mark the request's messages, output findings the answer.
  const input = located.filter((entry) => entry.finding.phase === "input");
  const output = located.filter((entry) => entry.finding.phase === "output");
  return (
    <section className="conversation" data-testid="conversation">
      {data.warnings.map((warning) => (
        <div key={warning} className="note warning">
          {warning}
        </div>
      ))}
      {parameters.length ? (
        <div className="chips">
          {parameters.map(([key, value]) => (
            <span key={key} className="chip">
              <span className="muted">{key}</span> {typeof value === "string" ? value : JSON.stringify(value)}
            </span>
          ))}
        </div>
      ) : null}
      {data.messages.map((message, index) => (
        <Message key={index} message={message} located={input} />
      ))}
      <div className="divider">
        <span>Output</span>
      </div>
      {data.output.length ? (
        data.output.map((message, index) => <Message key={index} message={message} located={output} />)
      ) : (
        <p className="muted">No output was recorded for this call.</p>
      )}
      {data.tools.length ? (
        <details className="tools">
          <summary>
            {data.tools.length} tool{data.tools.length > 1 ? "s" : ""} offered: {data.tools.map((tool) => tool.name).join(", ")}
          </summary>
          <ul>
            {data.tools.map((tool) => (
              <li key={tool.name}>
                <code>{tool.name}</code> {tool.description ? <span className="muted">{tool.description}</span> : null}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}

function Message({ message, located }: { message: ConversationMessage; located: Located[] }) {
  return (
    <div className={`message role-${message.role}`}>
      <div className="message-role">
        {message.role}
        {"choice" in message && message.choice > 0 ? <span className="muted"> · choice {message.choice + 1}</span> : null}
        {"finish_reason" in message && message.finish_reason ? (
          <span className="muted finish"> · {message.finish_reason}</span>
        ) : null}
      </div>
      <div className="message-body">
        {message.parts.length === 0 ? <span className="muted">(empty)</span> : null}
        {message.parts.map((part, index) => (
          <Part key={index} part={part} located={located} />
        ))}
      </div>
    </div>
  );
}

function Part({ part, located }: { part: ConversationPart; located: Located[] }) {
  switch (part.type) {
    case "text":
      return <LongText text={part.text} findings={findingsFor(part.text, located)} />;
    case "image":
      return (
        <div className="part-placeholder" title="Images are not displayed">
          Image{part.media_type ? ` (${part.media_type})` : ""}: {part.detail}
          {part.url ? <div className="muted mono small">{part.url}</div> : null}
        </div>
      );
    case "file":
      return (
        <div className="part-placeholder">
          {part.kind[0]?.toUpperCase() + part.kind.slice(1)}
          {part.media_type ? ` (${part.media_type})` : ""}: {part.detail}
        </div>
      );
    case "refusal":
      return (
        <div className="part-refusal">
          <span className="part-label">Refusal</span>
          <LongText text={part.text} findings={findingsFor(part.text, located)} />
        </div>
      );
    case "tool_call":
      return (
        <div className="part-tool">
          <div className="part-label">
            Tool call <code>{part.name}</code> {part.id ? <span className="muted mono">{part.id}</span> : null}
          </div>
          <pre className="code">{prettyArguments(part.arguments)}</pre>
        </div>
      );
    case "tool_result":
      return (
        <div className="part-tool">
          <div className="part-label">
            Tool result {part.tool_call_id ? <span className="muted mono">{part.tool_call_id}</span> : null}
            {part.is_error ? <span className="badge status-error">error</span> : null}
          </div>
          <LongText text={part.content} findings={findingsFor(part.content, located)} />
        </div>
      );
    case "reasoning":
      return (
        <details className="part-reasoning">
          <summary>Reasoning{part.redacted ? " (encrypted by the vendor)" : ""}</summary>
          <LongText text={part.text} findings={[]} />
        </details>
      );
    default:
      return <pre className="code">{prettyJson(part)}</pre>;
  }
}

function prettyArguments(value: unknown): string {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return prettyJson(value);
}

/** Text with guardrail findings marked; very long text is clamped until asked for. */
function LongText({ text, findings }: { text: string; findings: GuardrailFinding[] }) {
  const [all, setAll] = useState(false);
  const shown = all || text.length <= CLAMP_CHARS ? text : text.slice(0, CLAMP_CHARS);
  return (
    <div className="text-part">
      {segments(shown, findings).map((segment, index) =>
        segment.findings.length ? (
          <mark
            key={index}
            className={`finding action-${segment.findings[0]?.action ?? "flag"}`}
            title={segment.findings.map((f) => `${f.category} · ${f.detector} · ${f.policy} (${f.action})`).join("\n")}
          >
            {segment.text}
          </mark>
        ) : (
          <span key={index}>{segment.text}</span>
        ),
      )}
      {shown.length < text.length ? (
        <button type="button" className="btn btn-small clamp" onClick={() => setAll(true)}>
          Show all {text.length.toLocaleString("en-US")} characters
        </button>
      ) : null}
    </div>
  );
}
