/** Rows picked in the trace list for a bulk action (pure): one by one, or a range with Shift. */

export interface Selection {
  ids: ReadonlySet<string>;
  /** The row last clicked: where a Shift-click range starts. */
  anchor: string | null;
}

export const NO_SELECTION: Selection = { ids: new Set(), anchor: null };

/** Flip one row; with `range`, set every row from the anchor to it to the anchor's new state. */
export function toggle(selection: Selection, order: readonly string[], id: string, range = false): Selection {
  const ids = new Set(selection.ids);
  const on = !ids.has(id);
  const from = selection.anchor === null ? -1 : order.indexOf(selection.anchor);
  const to = order.indexOf(id);
  if (range && from >= 0 && to >= 0) {
    const state = ids.has(selection.anchor!);
    for (let index = Math.min(from, to); index <= Math.max(from, to); index += 1) {
      const rowId = order[index]!;
      if (state) ids.add(rowId);
      else ids.delete(rowId);
    }
  } else if (on) {
    ids.add(id);
  } else {
    ids.delete(id);
  }
  return { ids, anchor: id };
}

/** Every shown row selected, or none when they all were. */
export function toggleAll(selection: Selection, order: readonly string[]): Selection {
  const all = order.length > 0 && order.every((id) => selection.ids.has(id));
  return { ids: all ? new Set() : new Set(order), anchor: null };
}

/** The selected ids in the order the list shows them. */
export function selectedInOrder(selection: Selection, order: readonly string[]): string[] {
  return order.filter((id) => selection.ids.has(id));
}
