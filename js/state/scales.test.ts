import { describe, expect, it } from "vitest";
import { CATEGORICAL, MIN_RANGE, OTHER_CLASS } from "./colormap";
import { computeLegend } from "../widget/legend";
import {
  alphaOf,
  cellColors,
  classColor,
  classColorRule,
  divergingMax,
  ESTIMATE_ALPHA,
  OTHER_HIGHLIGHT,
} from "./scales";
import { predictedClasses } from "./selectors";
import { readSnapshot } from "./sync";
import { encode, FakeModel, sampleState } from "../shared/testutil";

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

  it("draws the cells method='adaptive' interpolated as previews: hatched and fainter", () => {
    const estimated = new Uint8Array(12);
    estimated[1] = 1;
    const paint = cellColors(
      snapshotWith({ view: "sensitivity", estimated: encode(estimated, [3, 4]) }),
    );
    const plain = cellColors(snapshotWith({ view: "sensitivity" }));
    expect(paint.pending?.[1]).toBe(1);
    expect(paint.pending?.[0]).toBe(0);
    expect(paint.values?.[1]).toBeCloseTo(plain.values?.[1] ?? NaN); // the kernel's value
    expect(Array.from(paint.colors?.subarray(4, 7) ?? [])).toEqual(
      Array.from(plain.colors?.subarray(4, 7) ?? []),
    );
    expect(paint.colors?.[7]).toBe(Math.round((plain.colors?.[7] ?? 0) * ESTIMATE_ALPHA));
    // A mask of the wrong size (another sweep's) is ignored.
    const stale = cellColors(
      snapshotWith({ estimated: encode(new Uint8Array(6).fill(1), [2, 3]) }),
    );
    expect(stale.pending?.[1]).toBe(0);
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
});

// The cases of occlusion_widget/palette.py class_colors (tests/test_palette.py), so the widget,
// save() and the figures give one class one colour.
describe("classColorRule", () => {
  const linspace = (n: number): Float32Array =>
    Float32Array.from({ length: n }, (_, i) => 1 - i / (n - 1));

  it("gives the shown classes the first colours, whatever their rank among all classes", () => {
    // Classes 15 and 20 rank 15th and 20th of 1000: the old rule drew both in the "other" grey.
    const rule = classColorRule([20, 0, 15, 15, -1, 20], linspace(1000));
    expect(rule.named).toEqual([0, 15, 20]);
    expect(rule.other).toEqual([]);
  });

  it("orders colours by base probability and the legend by count", () => {
    const base = new Float32Array(10);
    base[3] = 0.6;
    base[8] = 0.3;
    const classes = [8, 8, 8, 3];
    const rule = classColorRule(classes, base);
    expect(rule.named).toEqual([3, 8]); // class 3 gets colour 0
    expect(rule.counts).toEqual([
      [8, 3],
      [3, 1],
    ]);
    expect(computeLegend(classes, 4, 1, rule.other).entries.map((e) => e.cls)).toEqual([8, 3]);
  });

  it("merges the rarest classes past 12 into one grey 'other' entry", () => {
    const classes: number[] = [];
    for (let cls = 0; cls < 15; cls++) for (let n = 0; n < 15 - cls; n++) classes.push(cls);
    const rule = classColorRule(classes, new Float32Array(15).fill(0.05));
    expect(rule.named).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(rule.other).toEqual([12, 13, 14]);
    const legend = computeLegend(classes, classes.length, 1, rule.other).entries;
    expect(legend).toHaveLength(13);
    expect(legend[12]).toMatchObject({ cls: OTHER_HIGHLIGHT, classes: [12, 13, 14], count: 6 });
  });

  it("breaks count ties by base probability, then index, when choosing who keeps a colour", () => {
    // 13 classes seen once each: the one with the lowest base probability is merged.
    const base = new Float32Array(13).fill(0.5);
    base[4] = 0.1;
    expect(classColorRule([...Array(13).keys()], base).other).toEqual([4]);
    expect(classColorRule([...Array(13).keys()], new Float32Array(13)).other).toEqual([12]);
  });

  it("colours the snapshot's classes: shown ones distinct, the rest grey", () => {
    const snapshot = snapshotWith({ view: "predicted_class" });
    expect(classColor(snapshot, 0)).toEqual(CATEGORICAL[0]);
    expect(classColor(snapshot, 1)).toEqual(CATEGORICAL[1]);
    expect(classColor(snapshot, 2)).toEqual(OTHER_CLASS); // never predicted: not shown
  });
});

describe("flatNote", () => {
  it("says when no computed patch changes P(target) by more than 0.001", async () => {
    const { flatNote } = await import("./selectors");
    const flat = new Float32Array(12).fill(0.6995); // every drop is 0.0005
    expect(flatNote(snapshotWith({ target_map: encode(flat, [3, 4]) }))).toBe(
      "no 2×3 patch changes P(cat) by more than 0.001",
    );
    flat.fill(NaN, 8);
    expect(flatNote(snapshotWith({ target_map: encode(flat, [3, 4]), target: [0, 1] }))).toBe(""); // the group's base is 0.9: a drop of 0.2
    expect(flatNote(snapshotWith({ target_map: encode(flat, [3, 4]) }))).toContain(
      "(so far: 8 of 12 positions computed)",
    );
    expect(flatNote(snapshotWith({}))).toBe("");
  });
});
