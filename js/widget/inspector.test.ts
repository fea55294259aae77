import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InspectorView, positionDetails } from "./inspector";
import { readSnapshot } from "../state/sync";
import { encode, FakeModel, sampleState } from "../shared/testutil";

describe("positionDetails", () => {
  it("reads the top-k at a cell beside the unoccluded probabilities", () => {
    const snapshot = readSnapshot(new FakeModel(sampleState()));
    const details = positionDetails(snapshot, [0, 2]); // cell 2 predicts dog
    expect(details.computed).toBe(true);
    expect(details.rows.map((r) => r.name)).toEqual(["dog", "cat"]);
    expect(details.rows[0]?.p).toBeCloseTo(0.6);
    expect(details.rows[0]?.base).toBeCloseTo(0.2);
    expect(details.predicted).toBe(1);
    expect(details.basePredicted).toBe(0);
    expect(details.targetBase - details.targetP).toBeCloseTo(0.4);
  });

  it("says not computed for a cell without results", () => {
    const snapshot = readSnapshot(new FakeModel(sampleState()));
    const details = positionDetails(snapshot, [2, 3]);
    expect(details.computed).toBe(false);
    expect(details.targetP).toBeNaN();
  });
});

describe("InspectorView", () => {
  beforeEach(() => {
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
  });
  afterEach(() => vi.restoreAllMocks());

  it("says an approximate sweep filled a cell's values in, not the model", () => {
    const view = new InspectorView();
    const estimated = new Uint8Array(12);
    estimated[2] = 1; // cell (0, 2): adaptive sent values it interpolated
    const snapshot = readSnapshot(
      new FakeModel({ ...sampleState(), estimated: encode(estimated, [3, 4]) }),
    );
    expect(positionDetails(snapshot, [0, 2]).interpolated).toBe(true);
    expect(positionDetails(snapshot, [0, 1]).interpolated).toBe(false);
    view.update(snapshot, [0, 2], true);
    const predicted = view.element.querySelector('[data-testid="ow-predicted-class"]');
    expect(predicted?.textContent).toContain("Predicted (interpolated)");
    expect(predicted?.textContent).toContain("dog");
    expect((predicted as HTMLElement | null)?.title).toContain("model was not run");
    expect((predicted as HTMLElement | null)?.title).toContain("method='approximate'");
    view.update(snapshot, [0, 1], true);
    expect(predicted?.textContent).not.toContain("interpolated");
    expect((predicted as HTMLElement | null)?.title).toBe("");
  });

  it("marks a predicted class that differs from the unoccluded one", () => {
    const view = new InspectorView();
    const snapshot = readSnapshot(new FakeModel(sampleState()));
    view.update(snapshot, [0, 2], true);
    const predicted = view.element.querySelector('[data-testid="ow-predicted-class"]');
    expect(predicted?.classList.contains("ow-changed")).toBe(true);
    expect(predicted?.textContent).toContain("dog");
    expect(predicted?.textContent).toContain("unoccluded cat");
    const rows = view.element.querySelectorAll('[data-testid="ow-prob-row"]');
    expect(rows).toHaveLength(2);
    expect(rows[0]?.textContent).toContain("dog");
    expect(rows[0]?.textContent).toContain("0.600");
    expect(rows[0]?.textContent).toContain("0.200");
    view.update(snapshot, [0, 0], false);
    expect(predicted?.classList.contains("ow-changed")).toBe(false);
    expect(view.canvas.width).toBe(8);
    expect(view.canvas.height).toBe(5);
  });
});
