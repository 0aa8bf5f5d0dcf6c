import { describe, expect, it } from "vitest";

import { NO_SELECTION, selectedInOrder, toggle, toggleAll } from "./selection";

const order = ["a", "b", "c", "d", "e"];

describe("row selection", () => {
  it("toggles rows one by one", () => {
    const one = toggle(NO_SELECTION, order, "b");
    expect([...one.ids]).toEqual(["b"]);
    expect(toggle(one, order, "b").ids.size).toBe(0);
  });

  it("extends from the anchor with Shift, to the anchor's state", () => {
    const picked = toggle(NO_SELECTION, order, "b");
    const range = toggle(picked, order, "d", true);
    expect(selectedInOrder(range, order)).toEqual(["b", "c", "d"]);
    const cleared = toggle(toggle(range, order, "c"), order, "a", true);
    expect(selectedInOrder(cleared, order)).toEqual(["d"]);
  });

  it("selects all shown rows, or clears them", () => {
    const all = toggleAll(NO_SELECTION, order);
    expect(selectedInOrder(all, order)).toEqual(order);
    expect(toggleAll(all, order).ids.size).toBe(0);
    expect(toggleAll(NO_SELECTION, []).ids.size).toBe(0);
  });
});
