// Values derived from the decoded traits: class names, rankings, the unoccluded prediction and
// the sensitivity map. Pure functions of a Snapshot (sync.ts), so each can be tested on numbers.
import type { Snapshot } from "./sync";

/** The name of class i: its label, or "class i" when there is none. */
export function labelOf(snapshot: Pick<Snapshot, "labels">, index: number): string {
  return snapshot.labels[index] ?? `class ${index}`;
}

/** Number of classes known to the browser. */
export function classCount(snapshot: Pick<Snapshot, "labels" | "base">): number {
  return Math.max(snapshot.labels.length, snapshot.base?.length ?? 0);
}

/** Class indices ordered by unoccluded probability, most probable first (ties by index). */
export function classesByBaseProbability(snapshot: Pick<Snapshot, "labels" | "base">): number[] {
  const n = classCount(snapshot);
  const order = Array.from({ length: n }, (_, i) => i);
  const base = snapshot.base;
  if (base !== null) {
    order.sort((a, b) => (base[b] ?? -1) - (base[a] ?? -1) || a - b);
  }
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

/** Sensitivity per cell: P_base(target) - P_occluded(target); NaN where not computed. */
export function sensitivity(snapshot: Snapshot): Float32Array | null {
  if (snapshot.targetMap === null) return null;
  const p0 = snapshot.base?.[snapshot.target] ?? Number.NaN;
  const out = new Float32Array(snapshot.targetMap.length);
  for (let i = 0; i < out.length; i++) out[i] = p0 - (snapshot.targetMap[i] ?? Number.NaN);
  return out;
}

/** Predicted class per cell (topk_indices[..., 0]); -1 where not computed. */
export function predictedClasses(snapshot: Snapshot): Int32Array | null {
  const { grid, topkIndices, k } = snapshot;
  if (grid === null || topkIndices === null || k < 1) return null;
  const out = new Int32Array(grid.rows * grid.cols);
  for (let i = 0; i < out.length; i++) out[i] = topkIndices[i * k] ?? -1;
  return out;
}
