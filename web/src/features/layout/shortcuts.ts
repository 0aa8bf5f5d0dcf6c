/** Keyboard shortcuts: `g` then a letter to switch pages, `/` to search, `?` for the list. */
import { useEffect } from "react";

export const PAGE_KEYS: Record<string, string> = {
  t: "/ui/traces",
  s: "/ui/sessions",
  d: "/ui/dashboards",
  a: "/ui/annotation",
  x: "/ui/datasets",
  ",": "/ui/settings",
};

export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}

export function useGlobalShortcuts(go: (path: string) => void, toggleHelp: () => void): void {
  useEffect(() => {
    let pendingG = 0;
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
      if (page && Date.now() - pendingG < 1000) {
        pendingG = 0;
        event.preventDefault();
        go(page);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [go, toggleHelp]);
}
