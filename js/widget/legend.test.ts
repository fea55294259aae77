import { describe, expect, it, vi } from "vitest";
import { computeLegend, LegendView } from "./legend";
import { readSnapshot } from "../state/sync";
import { FakeModel, sampleState } from "../shared/testutil";

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

describe("the 'other classes' entry", () => {
  it("gathers the classes past the palette into one grey entry that lights them all", async () => {
    const { encode } = await import("../shared/testutil");
    const { OTHER_CLASS, css } = await import("../state/colormap");
    // 14 classes on a 2 x 7 grid, one cell each: classes 12 and 13 (lowest base) are merged.
    const labels = Array.from({ length: 14 }, (_, i) => `c${i}`);
    const base = Float32Array.from({ length: 14 }, (_, i) => 1 - i / 20);
    const topk = Int32Array.from({ length: 14 }, (_, i) => i);
    const snapshot = readSnapshot(
      new FakeModel({
        ...sampleState(labels),
        grid: {
          rows: 2,
          cols: 7,
          patch: [1, 1],
          stride: [1, 1],
          tops: [0, 1],
          lefts: [0, 1, 2, 3, 4, 5, 6],
        },
        base_probabilities: encode(base, [14]),
        topk_indices: encode(topk, [2, 7, 1]),
        topk_probabilities: encode(new Float32Array(14).fill(0.5), [2, 7, 1]),
        target_map: encode(new Float32Array(14).fill(0.5), [2, 7]),
      }),
    );
    const toggle = vi.fn();
    const view = new LegendView(toggle);
    view.update(snapshot, null, true);
    const entries = view.element.querySelectorAll<HTMLButtonElement>(
      '[data-testid="ow-legend-entry"]',
    );
    expect(entries).toHaveLength(13);
    const last = entries[12];
    expect(last?.textContent).toContain("other classes (2)");
    expect(last?.textContent).toContain("2 · ");
    expect(last?.title).toBe("c12, c13");
    const swatch = last?.querySelector<HTMLElement>(".ow-swatch");
    expect(swatch?.style.background).toBe(css(OTHER_CLASS));
    last?.click();
    const { OTHER_HIGHLIGHT, cellColors } = await import("../state/scales");
    expect(toggle).toHaveBeenCalledWith(OTHER_HIGHLIGHT);
    const lit = cellColors({ ...snapshot, view: "predicted_class" }, OTHER_HIGHLIGHT);
    expect(lit.colors?.[12 * 4 + 3]).toBe(255); // class 12: merged, lit
    expect(lit.colors?.[0 * 4 + 3]).toBeLessThan(128); // class 0: dimmed
  });
});
