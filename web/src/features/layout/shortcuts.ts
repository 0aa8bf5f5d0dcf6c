/** Keyboard shortcuts: `g` then a letter to switch pages, `/` to search, `?` for the list. */
import { useEffect } from "react";

/** When `g` was last pressed: the next key within a second picks a page. */
let pendingG = 0;
const CHORD_MS = 1000;

/** A page's own single-key shortcuts stand aside while `g` waits for its page letter. */
export function chordPending(): boolean {
  return Date.now() - pendingG < CHORD_MS;
}

/** Every shortcut, by where it works, for the `?` list. */
export const HELP: { title: string; rows: [string, string][] }[] = [
  {
    title: "Everywhere",
    rows: [
      ["?", "This list"],
      ["g t · g s · g d", "Traces, sessions, dashboards"],
      ["g a · g x · g ,", "Annotation, datasets, settings"],
      ["g e · g m", "Evaluation, prompt map"],
    ],
  },
  {
    title: "Trace list",
    rows: [
      ["/", "Search traces"],
      ["j / k", "Next / previous row"],
      ["Enter", "Open the selected trace"],
      ["x", "Select the row (for Add to dataset / queue)"],
    ],
  },
  {
    title: "A trace",
    rows: [
      ["1 – 5", "Tabs (while the annotate panel is closed)"],
      ["f", "Find similar prompts (show / hide)"],
      ["Esc", "Back to the list"],
    ],
  },
  {
    title: "Annotating (panel open, or reviewing a queue)",
    rows: [
      ["j / k", "Next / previous score"],
      ["1 – 9", "Pick a label, or Yes (1) / No (2)"],
      ["i", "Type the value (number, text)"],
      ["e", "Write a comment"],
      ["Enter", "Save what you typed (in a field)"],
    ],
  },
  {
    title: "Reviewing a queue",
    rows: [
      ["n or Enter", "Complete, then the next item"],
      ["s", "Skip, then the next item"],
      ["Esc", "Release the item and leave"],
    ],
  },
];

export const PAGE_KEYS: Record<string, string> = {
  t: "/ui/traces",
  s: "/ui/sessions",
  d: "/ui/dashboards",
  a: "/ui/annotation",
  x: "/ui/datasets",
  e: "/ui/evals",
  m: "/ui/map",
  ",": "/ui/settings",
};

export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}

export function useGlobalShortcuts(go: (path: string) => void, toggleHelp: () => void): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return;
      if (event.key === "/") {
        const search = document.querySelector<HTMLInputElement>("[data-search]");
        if (search) {
          event.preventDefault();
          search.focus();
          search.select();
        }
        return;
      }
      if (event.key === "?") {
        toggleHelp();
        return;
      }
      if (event.key === "g") {
        pendingG = Date.now();
        return;
      }
      const page = PAGE_KEYS[event.key];
      if (page && chordPending()) {
        pendingG = 0;
        event.preventDefault();
        go(page);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [go, toggleHelp]);
}
