import { describe, expect, it } from "vitest";
import { axisLookup, buildGeometry, displaySize, hitTest, paintCells, patchBox } from "./geometry";
import type { Grid } from "./sync";

// An 11 x 7 (W x H) image, patch 4 x 4, stride 2 x 3 (h x w): neither stride divides, so the
// last row and column are flush with the edges, as the engine's grid puts them.
const grid: Grid = {
  rows: 3,
  cols: 4,
  patch: [4, 4],
  stride: [2, 3],
  tops: new Int32Array([0, 2, 3]), // centres 2, 4, 5 (3 = 7 - 4, not 2 * 2)
  lefts: new Int32Array([0, 3, 6, 7]), // centres 2, 5, 8, 9 (7 = 11 - 4, not 3 * 3)
};
const W = 11;
const H = 7;

describe("axisLookup", () => {
  it("gives each pixel the window whose centre is nearest, ties to the earlier window", () => {
    // pixel centres 0.5 .. 6.5 against window centres 2, 4, 5; 4.5 is a tie between 4 and 5
    expect(Array.from(axisLookup(grid.tops, 4, H))).toEqual([0, 0, 0, 1, 1, 2, 2]);
    // pixel centres 0.5 .. 10.5 against 2, 5, 8, 9; 3.5, 6.5 and 8.5 are ties
    expect(Array.from(axisLookup(grid.lefts, 4, W))).toEqual([0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 3]);
  });

  it("marks pixels no window covers", () => {
    expect(Array.from(axisLookup([0, 4], 2, 8))).toEqual([0, 0, -1, -1, 1, 1, -1, -1]);
  });
});

describe("hitTest", () => {
  const geometry = buildGeometry(grid, W, H);

  it("maps pixels of a non-square image to the nearest patch centre", () => {
    expect(hitTest(geometry, 0, 0)).toEqual([0, 0]);
    expect(hitTest(geometry, 10.9, 6.9)).toEqual([2, 3]); // the flush corner
    expect(hitTest(geometry, 6.5, 3.2)).toEqual([1, 1]);
    expect(hitTest(geometry, 7.0, 5.0)).toEqual([2, 2]);
    expect(hitTest(geometry, 2.99, 2.99)).toEqual([0, 0]);
    expect(hitTest(geometry, 3.0, 3.0)).toEqual([1, 0]);
    expect(hitTest(geometry, 9.0, 0.0)).toEqual([0, 3]);
  });

  it("agrees with brute force over every pixel", () => {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let best: [number, number] = [0, 0];
        let bestD = Infinity;
        for (let r = 0; r < 3; r++) {
          for (let c = 0; c < 4; c++) {
            const cy = (grid.tops[r] ?? 0) + 2;
            const cx = (grid.lefts[c] ?? 0) + 2;
            const d = (y + 0.5 - cy) ** 2 + (x + 0.5 - cx) ** 2;
            if (d < bestD - 1e-9) {
              bestD = d;
              best = [r, c];
            }
          }
        }
        // Ties are broken per axis (earlier row, earlier column), as brute force in this order.
        expect(hitTest(geometry, x + 0.5, y + 0.5), `${x},${y}`).toEqual(best);
      }
    }
  });

  it("returns null outside the image", () => {
    expect(hitTest(geometry, -0.1, 2)).toBeNull();
    expect(hitTest(geometry, W, 2)).toBeNull();
    expect(hitTest(geometry, 2, 7)).toBeNull();
  });

  it("uses tops and lefts for patch boxes, never r * stride", () => {
    expect(patchBox(grid, [2, 3])).toEqual({ top: 3, left: 7, height: 4, width: 4 });
  });
});

describe("paintCells", () => {
  it("colours each pixel with its cell's colour", () => {
    const geometry = buildGeometry(grid, W, H);
    const colors = new Uint8ClampedArray(12 * 4);
    for (let i = 0; i < 12; i++) colors.set([i * 10, 0, 0, 255], i * 4);
    const out = paintCells(geometry, colors);
    const at = (x: number, y: number): number => out[(y * W + x) * 4] ?? -1;
    expect(at(0, 0)).toBe(0);
    expect(at(10, 6)).toBe(110); // cell (2, 3)
    expect(at(4, 3)).toBe(50); // cell (1, 1)
    expect(out[3]).toBe(255);
  });
});

describe("displaySize", () => {
  it("scales a 32 x 32 image up by an integer factor with crisp pixels", () => {
    const size = displaySize(32, 32);
    expect(size.pixelated).toBe(true);
    expect(Number.isInteger(size.scale)).toBe(true);
    expect(size.width).toBe(32 * size.scale);
    expect(size.width).toBeGreaterThanOrEqual(256);
    expect(size.width).toBeLessThanOrEqual(480);
  });

  it("fits a large non-square image into the maximum width, keeping the aspect ratio", () => {
    const size = displaySize(700, 466);
    expect(size.width).toBe(480);
    expect(size.height).toBe(Math.round((466 * 480) / 700));
    expect(size.pixelated).toBe(false);
  });

  it("never exceeds the maximum for a 224 x 224 image", () => {
    const size = displaySize(224, 224);
    expect(size.width).toBeLessThanOrEqual(480);
    expect(size.width % 224).toBe(0);
  });
});
