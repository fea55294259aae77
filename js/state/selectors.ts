// Values derived from the decoded traits: class names, rankings, the unoccluded prediction and
// the sensitivity map. Pure functions of a Snapshot (sync.ts), so each can be tested on numbers.
import { flatSentence } from "./flatnote";
import { preview, type Preview } from "./preview";
import type { Snapshot } from "./sync";

/** The name of class i: its label, or "class i" when there is none. */
export function labelOf(snapshot: Pick<Snapshot, "labels">, index: number): string {
  return snapshot.labels[index] ?? `class ${index}`;
}

/** Number of classes known to the browser. */
export function classCount(snapshot: Pick<Snapshot, "labels" | "base">): number {
  return Math.max(snapshot.labels.length, snapshot.base?.length ?? 0);
}

const orderCache = new WeakMap<object, readonly number[]>();

/**
 * Class indices ordered by unoccluded probability, most probable first (ties by index). Cached
 * per probabilities array (sorting 21,843 classes on every target change would be felt); the
 * result is shared, never modify it.
 */
export function classesByBaseProbability(
  snapshot: Pick<Snapshot, "labels" | "base">,
): readonly number[] {
  const n = classCount(snapshot);
  const key = snapshot.base ?? snapshot.labels;
  const hit = orderCache.get(key);
  if (hit !== undefined && hit.length === n) return hit;
  const order = Array.from({ length: n }, (_, i) => i);
  const base = snapshot.base;
  if (base !== null) {
    order.sort((a, b) => (base[b] ?? -1) - (base[a] ?? -1) || a - b);
  }
  orderCache.set(key, order);
  return order;
}

/** The unoccluded prediction, or -1 when the base probabilities are unknown. */
export function basePrediction(snapshot: Pick<Snapshot, "base">): number {
  const base = snapshot.base;
  if (base === null || base.length === 0) return -1;
  let best = 0;
  for (let i = 1; i < base.length; i++) if ((base[i] ?? -1) > (base[best] ?? -1)) best = i;
  return best;
}

/** The target's name: one class's label, or a group's labels joined by " + ". */
export function targetLabel(snapshot: Pick<Snapshot, "labels" | "targets">): string {
  return snapshot.targets.map((cls) => labelOf(snapshot, cls)).join(" + ");
}

/** The unoccluded probability of the target (a group's probabilities summed); NaN if unknown. */
export function targetBase(snapshot: Pick<Snapshot, "base" | "targets">): number {
  const base = snapshot.base;
  if (base === null) return Number.NaN;
  let sum = 0;
  for (const cls of snapshot.targets) sum += base[cls] ?? Number.NaN;
  return sum;
}

/**
 * What each position's P(target) is compared with: the unoccluded image's in occlude mode; in
 * reveal mode the all-baseline image's (`baseline_probabilities`, NaN until the kernel sends it).
 */
export function targetReference(
  snapshot: Pick<Snapshot, "base" | "targets" | "mode" | "baselineProbabilities">,
): number {
  if (snapshot.mode !== "reveal") return targetBase(snapshot);
  return targetBase({ base: snapshot.baselineProbabilities, targets: snapshot.targets });
}

/**
 * Sensitivity per cell, with a group's probabilities summed on both sides (the kernel sends the
 * group's summed target_map); NaN where not computed. Occlude mode: P_base(target) -
 * P_occluded(target), how much hiding the patch lowers it. Reveal mode: P_patch_only(target) -
 * P_baseline(target), how much showing only the patch raises it; null until the kernel sends
 * `baseline_probabilities`. Positive (red) means "this patch matters for the target" either way.
 */
export function sensitivity(snapshot: Snapshot): Float32Array | null {
  const map = snapshot.targetMap;
  if (map === null) return null;
  const reference = targetReference(snapshot);
  if (snapshot.mode === "reveal" && snapshot.baselineProbabilities === null) return null;
  const sign = snapshot.mode === "reveal" ? -1 : 1;
  const out = new Float32Array(map.length);
  for (let i = 0; i < out.length; i++) out[i] = sign * (reference - (map[i] ?? Number.NaN));
  return out;
}

/** Predicted class per cell (topk_indices[..., 0]); -1 where not computed. */
export function predictedClasses(
  snapshot: Pick<Snapshot, "grid" | "topkIndices" | "k">,
): Int32Array | null {
  const { grid, topkIndices, k } = snapshot;
  if (grid === null || topkIndices === null || k < 1) return null;
  const out = new Int32Array(grid.rows * grid.cols);
  for (let i = 0; i < out.length; i++) out[i] = topkIndices[i * k] ?? -1;
  return out;
}

/** 1 where the position is computed (it has a top-k or a target value), else 0. */
export function computedMask(snapshot: Snapshot): Uint8Array | null {
  const { grid, topkIndices, targetMap, k } = snapshot;
  if (grid === null || (topkIndices === null && targetMap === null)) return null;
  const out = new Uint8Array(grid.rows * grid.cols);
  for (let i = 0; i < out.length; i++) {
    const byTopk = topkIndices !== null && k > 0 && (topkIndices[i * k] ?? -1) >= 0;
    out[i] = byTopk || Number.isFinite(targetMap?.[i] ?? Number.NaN) ? 1 : 0;
  }
  return out;
}

/**
 * For each cell, the computed cell its preview is estimated from: itself when computed, else the
 * nearest computed one in grid index space (Chebyshev distance, i.e. rings of the 8-neighbourhood;
 * ties go to the cell reached first in row-major order), -1 when nothing is computed. A
 * breadth-first search from every computed cell at once: linear in the number of cells, so a
 * stride-2 grid of 11,025 positions costs no more than one pass.
 */
export function nearestComputed(mask: Uint8Array, rows: number, cols: number): Int32Array {
  const n = rows * cols;
  const source = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < n; i++) {
    if (mask[i] === 1) {
      source[i] = i;
      queue[tail++] = i;
    }
  }
  while (head < tail) {
    const i = queue[head++] ?? 0;
    const r = Math.floor(i / cols);
    const c = i - r * cols;
    for (let dr = -1; dr <= 1; dr++) {
      const rr = r + dr;
      if (rr < 0 || rr >= rows) continue;
      for (let dc = -1; dc <= 1; dc++) {
        const cc = c + dc;
        if (cc < 0 || cc >= cols) continue;
        const j = rr * cols + cc;
        if (source[j] !== -1) continue;
        source[j] = source[i] ?? -1;
        queue[tail++] = j;
      }
    }
  }
  return source;
}

const maskCache = new WeakMap<object, { mask: Uint8Array; nearest: Int32Array } | null>();

/** computedMask and nearestComputed for the snapshot, cached per result arrays. */
function computedCells(snapshot: Snapshot): { mask: Uint8Array; nearest: Int32Array } | null {
  const { grid } = snapshot;
  const key = snapshot.topkIndices ?? snapshot.targetMap;
  if (grid === null || key === null) return null;
  const hit = maskCache.get(key);
  if (hit !== undefined && (hit === null || hit.mask.length === grid.rows * grid.cols)) return hit;
  const mask = computedMask(snapshot);
  const out = mask === null ? null : { mask, nearest: nearestComputed(mask, grid.rows, grid.cols) };
  maskCache.set(key, out);
  return out;
}

const structureCache = new WeakMap<object, Preview>();

/**
 * The preview of every cell of the map (preview.ts: interpolated as method="adaptive" fills its
 * map, else the nearest computed cell's value): of `values` per cell (NaN where not computed),
 * or with `values` null only how each cell is previewed. Null before any result.
 */
export function previewOf(
  snapshot: Snapshot,
  values: ArrayLike<number> | null = null,
  categorical = false,
): Preview | null {
  const cells = computedCells(snapshot);
  if (cells === null || snapshot.grid === null) return null;
  if (values !== null)
    return preview(cells.mask, snapshot.grid, values, cells.nearest, categorical);
  // Only how each cell is previewed (the inspector, on every hover): once per result arrays.
  let how = structureCache.get(cells);
  if (how === undefined) {
    how = preview(cells.mask, snapshot.grid, null, cells.nearest);
    structureCache.set(cells, how);
  }
  return how;
}

/**
 * The sentence to show when the map says nothing (flatnote.ts, the twin of the engine's
 * flat_note): no computed patch changes P(target) by more than FLAT_BELOW; "" otherwise or
 * before any cell is computed. The kernel's `note` says the same; this is the fallback when it
 * says nothing.
 */
export function flatNote(snapshot: Snapshot): string {
  const values = sensitivity(snapshot);
  if (values === null) return "";
  const patch = snapshot.grid?.patch ?? snapshot.patchSize;
  return flatSentence(values, patch, targetLabel(snapshot), snapshot.mode);
}
