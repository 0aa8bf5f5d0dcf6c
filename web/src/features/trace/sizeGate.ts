/**
 * Bodies can be megabytes (base64 images, long documents). Rendering them whole would freeze
 * the tab, so: pretty-print once, show at most GATE_CHARS as plain text (searchable with the
 * browser's find), and the rest only on request, as fixed-height rows that are virtualized.
 * Pure: no React, no DOM.
 */

export const GATE_CHARS = 200_000;
export const ROW_CHARS = 160;

export function prettyJson(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  return JSON.stringify(value, null, 2) ?? "";
}

export interface Gated {
  head: string;
  truncated: boolean;
  totalChars: number;
}

/** The first `limit` characters, cut at a line break when one is near, so the head reads cleanly. */
export function gate(text: string, limit: number = GATE_CHARS): Gated {
  if (text.length <= limit) return { head: text, truncated: false, totalChars: text.length };
  const lineBreak = text.lastIndexOf("\n", limit);
  const cut = lineBreak > limit * 0.8 ? lineBreak : limit;
  return { head: text.slice(0, cut), truncated: true, totalChars: text.length };
}

/** Lines hard-wrapped at `width` characters: every row is one short, fixed-height line. */
export function wrapRows(text: string, width: number = ROW_CHARS): string[] {
  const rows: string[] = [];
  for (const line of text.split("\n")) {
    if (line.length <= width) {
      rows.push(line);
      continue;
    }
    const indent = line.length - line.trimStart().length;
    const continuation = " ".repeat(Math.min(indent + 2, width / 2));
    rows.push(line.slice(0, width));
    for (let start = width; start < line.length; start += width - continuation.length) {
      rows.push(continuation + line.slice(start, start + width - continuation.length));
    }
  }
  return rows;
}

/** Size in bytes of the UTF-8 encoding (what a download would weigh). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      index++;
    } else bytes += 3;
  }
  return bytes;
}
