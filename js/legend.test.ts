import { describe, expect, it, vi } from "vitest";
import { computeLegend, LegendView } from "./legend";
import { readSnapshot } from "./sync";
import { FakeModel, sampleState } from "./testutil";

describe("computeLegend", () => {
  it("counts topk[..., 0], ignores not-computed cells and sorts by count", () => {
    // 6 cells, k = 2: predicted 3, 5, 5, -1, 5, 3 -> 5 x3, 3 x2, one not computed
    const topk = [3, 1, 5, 1, 5, 0, -1, -1, 5, 2, 3, 5];
    const summary = computeLegend(topk, 6, 2);
    expect(summary.computed).toBe(5);
    expect(summary.total).toBe(6);
    expect(summary.entries.map((e) => [e.cls, e.count])).toEqual([
      [5, 3],
      [3, 2],
    ]);
    expect(summary.entries[0]?.percent).toBeCloseTo(60);
    expect(summary.entries[1]?.percent).toBeCloseTo(40);
  });

  it("breaks ties by class index and is empty before anything is computed", () => {
    expect(computeLegend([2, 1, 2, 1], 4, 1).entries.map((e) => e.cls)).toEqual([1, 2]);
    expect(computeLegend([-1, -1], 2, 1)).toEqual({ entries: [], computed: 0, total: 2 });
  });
});

describe("LegendView", () => {
  it("shows counts and percentages, marks the unoccluded prediction, toggles a class", () => {
    const toggle = vi.fn();
    const view = new LegendView(toggle);
    const snapshot = readSnapshot(new FakeModel(sampleState()));
    view.update(snapshot, null, true);
    const entries = view.element.querySelectorAll<HTMLButtonElement>(
      '[data-testid="ow-legend-entry"]',
    );
    expect(entries).toHaveLength(2);
    expect(entries[0]?.textContent).toContain("cat");
    expect(entries[0]?.textContent).toContain("5 · 62.5%");
    expect(entries[0]?.textContent).toContain("unoccluded");
    expect(entries[1]?.textContent).toContain("3 · 37.5%");
    expect(entries[1]?.textContent).not.toContain("unoccluded");
    expect(view.element.textContent).toContain("8 of 12 computed");
    entries[1]?.click();
    expect(toggle).toHaveBeenCalledWith(1);
    view.update(snapshot, 1, true);
    const pressed = view.element.querySelector('[aria-pressed="true"]');
    expect(pressed?.textContent).toContain("dog");
  });
});
