// Pure cell geometry: where each position of the grid is coloured on the image, and hit-testing
// from an image pixel to a position of the grid. No DOM.
//
// Windows overlap when stride < patch, so a pixel lies under several patches. We colour each
// pixel by the position whose patch centre is nearest to it (ties go to the earlier position):
// the Voronoi cells of the patch centres. On a grid of centres that nearest-centre rule splits
// into one nearest row and one nearest column, so every cell is a rectangle about one stride
// wide around its centre, and the last row/column (flush with the image edge) gets what is left.
// Hit-testing uses the same rule, so what you point at is what is coloured there.
import type { Cell, Grid } from "./sync";

export interface Box {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * A box's size and place in reading order, width first: "30 wide × 24 tall patch at x=10, y=4".
 */
export function boxText(box: Box, noun: string): string {
  return `${box.width} wide × ${box.height} tall ${noun} at x=${box.left}, y=${box.top}`;
}

export interface DisplaySize {
  width: number;
  height: number;
  /** Integer upscale factor, or 0 when the image was shrunk to fit. */
  scale: number;
  /** Nearest-neighbour pixels (small images scaled up by an integer factor). */
  pixelated: boolean;
}

/**
 * How large to show a width x height image: small images scale up by an integer factor to at
 * least `min` pixels on the long side (crisp pixels), large ones shrink to fit a `max` square
 * keeping their aspect ratio.
 */
export function displaySize(width: number, height: number, min = 320, max = 480): DisplaySize {
  const longest = Math.max(1, width, height);
  if (longest <= max) {
    let scale = Math.max(1, Math.ceil(min / longest));
    while (scale > 1 && longest * scale > max) scale--;
    return { width: width * scale, height: height * scale, scale, pixelated: scale > 1 };
  }
  const f = max / longest;
  return {
    width: Math.max(1, Math.round(width * f)),
    height: Math.max(1, Math.round(height * f)),
    scale: 0,
    pixelated: false,
  };
}

/**
 * For each pixel along one axis (0..extent-1), the index of the window whose centre is nearest
 * to the pixel's centre, or -1 when no window covers the pixel.
 */
export function axisLookup(starts: ArrayLike<number>, size: number, extent: number): Int32Array {
  const out = new Int32Array(Math.max(0, extent)).fill(-1);
  for (let p = 0; p < extent; p++) {
    const x = p + 0.5;
    let best = -1;
    let bestDistance = Infinity;
    for (let i = 0; i < starts.length; i++) {
      const d = Math.abs(x - ((starts[i] ?? 0) + size / 2));
      if (d < bestDistance) {
        bestDistance = d;
        best = i;
      }
    }
    // The nearest window covers the pixel whenever any window does.
    const start = starts[best] ?? 0;
    out[p] = best >= 0 && p >= start && p < start + size ? best : -1;
  }
  return out;
}

/** Where each index's pixels start and end along an axis ([start, end) pairs; -1 when none). */
function spans(lookup: Int32Array, count: number): Int32Array {
  const out = new Int32Array(count * 2).fill(-1);
  for (let p = 0; p < lookup.length; p++) {
    const i = lookup[p] ?? -1;
    if (i < 0) continue;
    if ((out[2 * i] ?? -1) < 0) out[2 * i] = p;
    out[2 * i + 1] = p + 1;
  }
  return out;
}

export interface Geometry {
  width: number;
  height: number;
  rows: number;
  cols: number;
  rowOfY: Int32Array;
  colOfX: Int32Array;
  /** [start, end) in image pixels of each row's / column's coloured region. */
  rowSpans: Int32Array;
  colSpans: Int32Array;
}

export function buildGeometry(grid: Grid, width: number, height: number): Geometry {
  const rowOfY = axisLookup(grid.tops, grid.patch[0], height);
  const colOfX = axisLookup(grid.lefts, grid.patch[1], width);
  return {
    width,
    height,
    rows: grid.rows,
    cols: grid.cols,
    rowOfY,
    colOfX,
    rowSpans: spans(rowOfY, grid.rows),
    colSpans: spans(colOfX, grid.cols),
  };
}

/** The cell under image pixel coordinates (x, y) (fractions allowed), or null outside. */
export function hitTest(geometry: Geometry, x: number, y: number): Cell | null {
  if (!(x >= 0 && y >= 0 && x < geometry.width && y < geometry.height)) return null;
  const r = geometry.rowOfY[Math.floor(y)] ?? -1;
  const c = geometry.colOfX[Math.floor(x)] ?? -1;
  return r < 0 || c < 0 ? null : [r, c];
}

/** The occluder's box at a cell: (tops[r], lefts[c], ph, pw), never r * stride. */
export function patchBox(grid: Grid, [r, c]: Cell): Box {
  return {
    top: grid.tops[r] ?? 0,
    left: grid.lefts[c] ?? 0,
    height: grid.patch[0],
    width: grid.patch[1],
  };
}

/**
 * Paint per-cell RGBA colours (rows * cols * 4) onto an image-sized RGBA buffer through the
 * nearest-centre cells; pixels no window covers stay transparent.
 */
export function paintCells(geometry: Geometry, colors: Uint8ClampedArray): Uint8ClampedArray {
  const { width, height, cols } = geometry;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const r = geometry.rowOfY[y] ?? -1;
    if (r < 0) continue;
    for (let x = 0; x < width; x++) {
      const c = geometry.colOfX[x] ?? -1;
      if (c < 0) continue;
      const src = (r * cols + c) * 4;
      const dst = (y * width + x) * 4;
      out[dst] = colors[src] ?? 0;
      out[dst + 1] = colors[src + 1] ?? 0;
      out[dst + 2] = colors[src + 2] ?? 0;
      out[dst + 3] = colors[src + 3] ?? 0;
    }
  }
  return out;
}
