import { describe, expect, it } from "vitest";
import { CATEGORICAL } from "./colormap";
import { alphaOf, cellColors, classRanks } from "./scales";
import { predictedClasses } from "./selectors";
import { readSnapshot } from "./sync";
import { FakeModel, sampleState } from "./testutil";

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
    expect(paint.colors?.[8 * 4 + 3]).toBe(0); // the hatch shows, not a colour
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
