import { describe, expect, it } from "vitest";
import { CATEGORICAL, MIN_RANGE } from "./colormap";
import { alphaOf, cellColors, classRanks, divergingMax, ESTIMATE_ALPHA } from "./scales";
import { predictedClasses } from "./selectors";
import { readSnapshot } from "./sync";
import { encode, FakeModel, sampleState } from "./testutil";

const snapshotWith = (extra: Record<string, unknown>) =>
  readSnapshot(new FakeModel({ ...sampleState(), ...extra }));

describe("alphaOf", () => {
  it("makes sensitivity cells as opaque as their drop is large, in either direction", () => {
    const scale = { kind: "diverging", max: 0.5 } as const;
    expect(alphaOf(scale, 0)).toBe(51); // the floor: 0.2 * 255
    expect(alphaOf(scale, 0.5)).toBe(255);
    expect(alphaOf(scale, -0.5)).toBe(255);
    expect(alphaOf(scale, 0.25)).toBeGreaterThan(alphaOf(scale, 0.1));
    expect(alphaOf(scale, 2)).toBe(255); // clamped
  });

  it("keeps probability and class cells fully opaque", () => {
    expect(alphaOf({ kind: "sequential" }, 0)).toBe(255);
    expect(alphaOf({ kind: "categorical" }, 3)).toBe(255);
  });
});

describe("cellColors", () => {
  it("computes sensitivity as base - occluded and flags the not-computed cells", () => {
    const paint = cellColors(snapshotWith({ view: "sensitivity" }));
    expect(paint.scale).toEqual({ kind: "diverging", max: expect.closeTo(0.4, 6) });
    expect(paint.values?.[0]).toBeCloseTo(0.1); // 0.7 - 0.6
    expect(paint.values?.[2]).toBeCloseTo(0.4); // 0.7 - 0.3
    expect(Array.from(paint.pending ?? [])).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    // Cell 8 (row 2, column 0) is not computed: it shows cell 4's colour (row 1, column 0, the
    // nearest computed cell) at a lower opacity, and the view hatches it.
    expect(paint.estimates?.[8]).toBe(4);
    expect(paint.estimates?.[0]).toBe(-1);
    expect(Array.from(paint.colors?.subarray(8 * 4, 8 * 4 + 3) ?? [])).toEqual(
      Array.from(paint.colors?.subarray(4 * 4, 4 * 4 + 3) ?? []),
    );
    const alpha4 = paint.colors?.[4 * 4 + 3] ?? 0;
    expect(paint.colors?.[8 * 4 + 3]).toBe(Math.round(alpha4 * ESTIMATE_ALPHA));
  });

  it("has no scale and no colours before any cell is computed", () => {
    const none = cellColors(
      readSnapshot(
        new FakeModel({
          ...sampleState(),
          target_map: encode(new Float32Array(12).fill(NaN), [3, 4]),
          topk_indices: encode(new Int32Array(24).fill(-1), [3, 4, 2]),
        }),
      ),
    );
    expect(none.scale).toBeNull();
    expect(none.colors).toBeNull();
  });

  it("never stretches a map that says nothing: the auto scale has a floor, fixed is -1..1", () => {
    // Every drop is 0.001: on a data-fitted scale it would be drawn in full colour.
    const flat = new Float32Array(12).fill(0.699);
    const snapshot = snapshotWith({ target_map: encode(flat, [3, 4]) });
    const auto = cellColors(snapshot);
    expect(auto.scale).toEqual({ kind: "diverging", max: MIN_RANGE });
    expect(MIN_RANGE).toBeCloseTo(0.05);
    expect(auto.colors?.[3]).toBeLessThan(alphaOf({ kind: "diverging", max: 0.001 }, 0.001));
    const fixed = cellColors(
      snapshotWith({ target_map: encode(flat, [3, 4]), color_scale: "fixed" }),
    );
    expect(fixed.scale).toEqual({ kind: "diverging", max: 1 });
    expect(divergingMax([0.3, -0.2], "auto")).toBeCloseTo(0.3);
    expect(divergingMax([0.3, -0.2], "fixed")).toBe(1);
  });

  it("colours predicted classes by unoccluded rank and dims all but the highlighted class", () => {
    const snapshot = snapshotWith({ view: "predicted_class" });
    const plain = cellColors(snapshot);
    expect(Array.from(plain.colors?.subarray(0, 3) ?? [])).toEqual(
      Array.from(CATEGORICAL[0] ?? []),
    );
    expect(Array.from(plain.colors?.subarray(8, 11) ?? [])).toEqual(
      Array.from(CATEGORICAL[1] ?? []),
    );
    const lit = cellColors(snapshot, 1);
    expect(lit.colors?.[0 * 4 + 3]).toBeLessThan(128); // cell 0 predicts class 0: dimmed
    expect(lit.colors?.[2 * 4 + 3]).toBe(255); // cell 2 predicts class 1: kept
  });

  it("draws nothing without a grid and treats a mismatched top-k as not computed", () => {
    expect(cellColors(snapshotWith({ grid: null })).colors).toBeNull();
    const wrong = snapshotWith({ topk_indices: sampleState().target_map, view: "predicted_class" });
    expect(predictedClasses(wrong)).toBeNull();
  });

  it("ranks classes by unoccluded probability", () => {
    const snapshot = readSnapshot(
      new FakeModel({ ...sampleState(), base_probabilities: sampleState().base_probabilities }),
    );
    expect([...classRanks(snapshot).entries()]).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
  });
});
