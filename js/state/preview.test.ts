import { describe, expect, it } from "vitest";
import fixture from "../fixtures/adaptive_preview.json";
import { COMPUTED, INTERPOLATED, lattice, levels, NEAREST, preview } from "./preview";
import { nearestComputed } from "./selectors";
import type { Grid } from "./sync";

function gridOf(tops: number[], lefts: number[]): Grid {
  return {
    rows: tops.length,
    cols: lefts.length,
    patch: [4, 4],
    stride: [2, 2],
    tops: Int32Array.from(tops),
    lefts: Int32Array.from(lefts),
  };
}

function previewOn(grid: Grid, mask: Uint8Array, values: ArrayLike<number>, categorical = false) {
  const shown = Float64Array.from(values, (v, i) => (mask[i] === 1 ? v : Number.NaN));
  return preview(mask, grid, shown, nearestComputed(mask, grid.rows, grid.cols), categorical);
}

describe("levels and lattice", () => {
  it("match the engine's grid.levels and grid.lattice", () => {
    expect(levels(29, 29)).toEqual([8, 4, 2, 1]);
    expect(levels(53, 53)).toEqual([16, 8, 4, 2, 1]);
    expect(levels(1, 1)).toEqual([1]);
    expect(lattice(10, 4)).toEqual([0, 4, 8, 9]);
  });
});

describe("preview", () => {
  // A 5 x 5 grid whose last column is flush with the edge (1 pixel after the one before).
  const grid = gridOf([0, 2, 4, 6, 8], [0, 2, 4, 6, 7]);
  const linear = Array.from({ length: 25 }, (_, i) => {
    const r = Math.floor(i / 5);
    const c = i % 5;
    return 0.01 * (grid.tops[r] ?? 0) + 0.03 * (grid.lefts[c] ?? 0);
  });

  it("interpolates from the coarse lattice in pixel coordinates, exact on a linear map", () => {
    const mask = new Uint8Array(25);
    for (const r of [0, 2, 4]) for (const c of [0, 2, 4]) mask[r * 5 + c] = 1;
    const out = previewOn(grid, mask, linear);
    for (let i = 0; i < 25; i++) {
      expect(out.kind[i]).toBe(mask[i] === 1 ? COMPUTED : INTERPOLATED);
      expect(out.values[i]).toBeCloseTo(linear[i] ?? NaN, 12);
    }
    // Cell (1, 3) lies in the block from (0, 2) to (2, 4).
    expect(Array.from(out.from.subarray(8 * 2, 8 * 2 + 2))).toEqual([2, 14]);
  });

  it("falls back to the nearest computed cell where no block has its corners", () => {
    const mask = new Uint8Array(25);
    mask[0] = 1;
    mask[6] = 1;
    const out = previewOn(grid, mask, linear);
    expect(out.kind[24]).toBe(NEAREST);
    expect(out.values[24]).toBe(linear[6]);
    expect(out.from[24 * 2]).toBe(6);
  });

  it("never mixes classes: corners that agree give their class, else the nearest corner's", () => {
    const mask = new Uint8Array(25);
    for (const r of [0, 2, 4]) for (const c of [0, 2, 4]) mask[r * 5 + c] = 1;
    // Class 7 at (2, 4) and (4, 4), class 3 at every other computed cell.
    const classes = Array.from({ length: 25 }, (_, i) => (i === 14 || i === 24 ? 7 : 3));
    const out = previewOn(grid, mask, classes, true);
    expect(out.values[6]).toBe(3); // (1, 1): corners (0,0)-(2,2) all class 3
    expect(out.values[18]).toBe(7); // (3, 3): nearest the right-hand corners (x 6 of 4..7)
    expect(out.values[16]).toBe(3); // (3, 1): corners (2,0)-(4,2) all class 3
    expect(out.values[17]).toBe(3); // (3, 2): on the edge (2,2)-(4,2), both class 3
  });
});

describe("preview of the adaptive drill-down's cells (fixture from the engine)", () => {
  const g = fixture.grid;
  const grid = gridOf(g.tops, g.lefts);
  const mask = Uint8Array.from(fixture.computed);

  it("reproduces the map method='adaptive' filled in, cell for cell", () => {
    const out = previewOn(grid, mask, fixture.adaptive);
    let interpolated = 0;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === 0) interpolated++;
      expect(out.kind[i]).not.toBe(NEAREST);
      expect(out.values[i]).toBeCloseTo(fixture.adaptive[i] ?? NaN, 5);
    }
    expect(interpolated).toBeGreaterThan(mask.length / 2); // the drill-down skipped most cells
  });

  it("and its predicted classes", () => {
    const out = previewOn(grid, mask, fixture.exact_class, true);
    expect(Array.from(out.values)).toEqual(fixture.adaptive_class);
  });
});
