// How a cell the sweep has not computed yet is previewed: by the rule method="adaptive" fills
// its map with (occlusion_widget/engine/refinement.py), so the map people see while a sweep runs
// is the adaptive one. Every sweep visits the adaptive drill-down's cells first; replaying its
// lattices coarse to fine, a block whose corners are known and which holds no other computed
// cell was left to interpolation: its cells are filled bilinearly (in pixel coordinates) from
// its corners. A refined block's next-lattice cells not computed yet are filled the same way
// (the edges it shares with an interpolated block get the same values from either side).
// Once the drill-down's cells are in, this reproduces the adaptive map; before that, it is the
// best interpolation the computed cells allow. Any cell still unknown takes the nearest computed
// cell's value.
import type { Grid } from "./sync";

/** The lattice spacings of the coarse-to-fine order, coarsest first, ending at 1 (grid.levels). */
export function levels(rows: number, cols: number): number[] {
  let step = 1;
  while (step * 2 <= Math.floor(Math.max(rows, cols) / 2)) step *= 2;
  const out = [step];
  while (step > 1) {
    step = Math.floor(step / 2);
    out.push(step);
  }
  return out;
}

/** Indices 0, step, 2 step, ... along an axis of n cells, and the last one (grid.lattice). */
export function lattice(n: number, step: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i += step) out.push(i);
  if (out[out.length - 1] !== n - 1) out.push(n - 1);
  return out;
}

export const NONE = 0;
export const COMPUTED = 1;
export const INTERPOLATED = 2;
export const NEAREST = 3;

export interface Preview {
  /** Per cell: its own value when computed, else its preview; NaN where there is none. */
  values: Float64Array;
  /** Per cell: NONE, COMPUTED, INTERPOLATED or NEAREST. */
  kind: Uint8Array;
  /**
   * Per cell, two flat indices: an interpolated cell's block corners (top-left, bottom-right);
   * a NEAREST cell's source and -1; -1 otherwise.
   */
  from: Int32Array;
}

/**
 * Previews every cell from the computed ones (`mask`, 1 where computed), their `values` (null:
 * only say how each cell is previewed) and `nearest` (per cell, the nearest computed cell, -1
 * when none: selectors.nearestComputed). `categorical` values (class indices) are not mixed: a
 * cell takes its block corners' class when they agree, else the class of the corner it is
 * nearest to.
 */
export function preview(
  mask: Uint8Array,
  grid: Grid,
  values: ArrayLike<number> | null,
  nearest: Int32Array,
  categorical = false,
): Preview {
  const { rows, cols, tops, lefts } = grid;
  const n = rows * cols;
  const out = new Float64Array(n).fill(Number.NaN);
  const kind = new Uint8Array(n);
  const from = new Int32Array(n * 2).fill(-1);
  const known = new Uint8Array(n);
  let computed = 0;
  for (let i = 0; i < n; i++) {
    if (mask[i] !== 1) continue;
    known[i] = 1;
    kind[i] = COMPUTED;
    out[i] = values?.[i] ?? Number.NaN;
    computed++;
  }
  if (computed === n) return { values: out, kind, from }; // a complete map: nothing to preview
  const y = (r: number): number => tops[r] ?? 0;
  const x = (c: number): number => lefts[c] ?? 0;
  const fill = (
    i: number,
    r0: number,
    r1: number,
    c0: number,
    c1: number,
    r: number,
    c: number,
  ) => {
    const ty = (y(r) - y(r0)) / Math.max(y(r1) - y(r0), 1);
    const tx = (x(c) - x(c0)) / Math.max(x(c1) - x(c0), 1);
    const corners = [r0 * cols + c0, r0 * cols + c1, r1 * cols + c0, r1 * cols + c1];
    const w = [(1 - ty) * (1 - tx), (1 - ty) * tx, ty * (1 - tx), ty * tx];
    let v = 0;
    let same = true;
    let heaviest = 0;
    for (let k = 0; k < 4; k++) {
      const value = out[corners[k] ?? 0] ?? Number.NaN;
      v += (w[k] ?? 0) * value;
      if (value !== out[corners[0] ?? 0]) same = false;
      if ((w[k] ?? 0) > (w[heaviest] ?? 0)) heaviest = k;
    }
    if (categorical)
      v = same ? (out[corners[0] ?? 0] ?? NaN) : (out[corners[heaviest] ?? 0] ?? NaN);
    out[i] = values === null ? Number.NaN : v;
    known[i] = 1;
    kind[i] = INTERPOLATED;
    from[i * 2] = corners[0] ?? -1;
    from[i * 2 + 1] = corners[3] ?? -1;
  };
  for (const step of levels(rows, cols)) {
    if (step === 1) break;
    const half = step / 2;
    const rLat = lattice(rows, step);
    const cLat = lattice(cols, step);
    const onNext = (i: number, m: number): boolean => i % half === 0 || i === m - 1;
    for (let a = 0; a + 1 < rLat.length; a++) {
      const r0 = rLat[a] ?? 0;
      const r1 = rLat[a + 1] ?? 0;
      for (let b = 0; b + 1 < cLat.length; b++) {
        const c0 = cLat[b] ?? 0;
        const c1 = cLat[b + 1] ?? 0;
        const corners = [r0 * cols + c0, r0 * cols + c1, r1 * cols + c0, r1 * cols + c1];
        if (!corners.every((j) => known[j] === 1)) continue;
        // Refined: a cell other than its corners was computed (the drill-down interpolates a
        // block's edges it shares with an interpolated block, so an interpolated block holds
        // no computed cell but its corners).
        let refined = false;
        for (let r = r0; r <= r1 && !refined; r++) {
          for (let c = c0; c <= c1; c++) {
            const corner = (r === r0 || r === r1) && (c === c0 || c === c1);
            if (!corner && mask[r * cols + c] === 1) {
              refined = true;
              break;
            }
          }
        }
        for (let r = r0; r <= r1; r++) {
          for (let c = c0; c <= c1; c++) {
            const i = r * cols + c;
            if (known[i] === 1) continue;
            if (!refined || (onNext(r, rows) && onNext(c, cols))) fill(i, r0, r1, c0, c1, r, c);
          }
        }
      }
    }
  }
  for (let i = 0; i < n; i++) {
    if (known[i] === 1) continue;
    const source = nearest[i] ?? -1;
    if (source < 0) continue;
    kind[i] = NEAREST;
    from[i * 2] = source;
    out[i] = values?.[source] ?? Number.NaN;
  }
  return { values: out, kind, from };
}
