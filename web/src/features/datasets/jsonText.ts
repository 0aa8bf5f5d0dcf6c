/**
 * JSON typed in a textarea (pure): parsed with the place of the first mistake, so an editor can
 * say "line 3, column 5: …" instead of only "invalid JSON".
 */

export type ParsedJson = { ok: true; value: unknown } | { ok: false; error: string; line: number; column: number };

/** Pretty JSON for an editor: two-space indents; `undefined` reads as null. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value, null, 2);
}

/** Line and column (1-based) of a character offset in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split("\n");
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

/** Parse, or say where and why not. Engines word their messages differently: read either form of place. */
export function parseJson(text: string): ParsedJson {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const lineColumn = /line (\d+) column (\d+)/.exec(message);
    const position = /position (\d+)/.exec(message);
    const place = lineColumn
      ? { line: Number(lineColumn[1]), column: Number(lineColumn[2]) }
      : position
        ? lineAndColumn(text, Number(position[1]))
        : lineAndColumn(text, text.length);
    const reason = message
      .replace(/^JSON\.parse: /, "")
      .replace(/ in JSON at position \d+.*$/, "")
      .replace(/ \(line \d+ column \d+\)$/, "")
      .replace(/, "[^"]*"\s*\.\.\. is not valid JSON$/, "")
      .replace(/ of the JSON data$/, "");
    return { ok: false, error: reason || "Invalid JSON", ...place };
  }
}

export interface ItemFields {
  input: unknown;
  expected_output: unknown;
}

/** An item's two editors read together: input must be JSON and not null; an empty expected output is null. */
export function readItem(
  inputText: string,
  expectedText: string,
): { ok: true; item: ItemFields } | { ok: false; errors: { input?: string; expected_output?: string } } {
  const errors: { input?: string; expected_output?: string } = {};
  const input = parseJson(inputText);
  if (!input.ok) errors.input = `Line ${input.line}, column ${input.column}: ${input.error}`;
  else if (input.value === null) errors.input = "The input cannot be null.";
  const expected = expectedText.trim() ? parseJson(expectedText) : ({ ok: true, value: null } as const);
  if (!expected.ok) errors.expected_output = `Line ${expected.line}, column ${expected.column}: ${expected.error}`;
  if (errors.input || errors.expected_output || !input.ok || !expected.ok) return { ok: false, errors };
  return { ok: true, item: { input: input.value, expected_output: expected.value } };
}

/** A one-line glimpse of an item's value for a table cell: a chat's last message text, else compact JSON. */
export function glimpse(value: unknown, max = 160): string {
  const text = typeof value === "string" ? value : (lastMessageText(value) ?? JSON.stringify(value) ?? "");
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function lastMessageText(value: unknown): string | undefined {
  if (!value || typeof value !== "object") return undefined;
  const messages = (value as { messages?: unknown }).messages;
  if (!Array.isArray(messages)) return undefined;
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const text = messageText(messages[index]);
    if (text !== undefined) return text;
  }
  return undefined;
}

/** The text parts of a conversation message, as the server's conversation view writes them. */
function messageText(message: unknown): string | undefined {
  if (!message || typeof message !== "object") return undefined;
  const parts = (message as { parts?: unknown }).parts;
  if (!Array.isArray(parts)) return undefined;
  const texts = parts.flatMap((part) =>
    part && typeof part === "object" && (part as { type?: unknown }).type === "text"
      ? [String((part as { text?: unknown }).text ?? "")]
      : [],
  );
  return texts.length ? texts.join(" ") : undefined;
}
