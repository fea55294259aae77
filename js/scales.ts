// What colour each cell of the map gets in each view, and the scale the colour bar shows.
import {
  categoricalColor,
  divergingColor,
  MIN_RANGE,
  NOT_COMPUTED,
  SENSITIVITY_ALPHA_FLOOR,
  sequentialColor,
  symmetricRange,
  type RGB,
} from "./colormap";
import {
  classesByBaseProbability,
  estimateSources,
  predictedClasses,
  sensitivity,
} from "./selectors";
import type { ColorScaleMode, Snapshot } from "./sync";

export type ColorScale =
  { kind: "diverging"; max: number } | { kind: "sequential" } | { kind: "categorical" };

export interface CellColors {
  scale: ColorScale | null;
  /** RGBA per cell (rows * cols * 4); null when there is nothing to draw. */
  colors: Uint8ClampedArray | null;
  /** 1 where the cell is not computed yet. */
  pending: Uint8Array | null;
  /** Per cell, the computed cell its colour is estimated from; -1 where computed or none. */
  estimates: Int32Array | null;
  /** The value per cell the colours stand for (sensitivity, probability or class index). */
  values: Float32Array | null;
}

const rankCache = new WeakMap<object, Map<number, number>>();

/**
 * Colour rank of each class: its place in the unoccluded ranking, so the colours stay put while
 * the sweep fills in and the unoccluded prediction always gets the first colour.
 */
export function classRanks(snapshot: Pick<Snapshot, "labels" | "base">): Map<number, number> {
  const key = snapshot.base ?? snapshot.labels;
  const hit = rankCache.get(key);
  if (hit !== undefined) return hit;
  const ranks = new Map<number, number>();
  classesByBaseProbability(snapshot).forEach((cls, rank) => ranks.set(cls, rank));
  rankCache.set(key, ranks);
  return ranks;
}

export function classColor(snapshot: Pick<Snapshot, "labels" | "base">, cls: number): RGB {
  return categoricalColor(classRanks(snapshot).get(cls) ?? -1);
}

/**
 * Opacity of a computed cell (0..255). On the sensitivity map a cell is as opaque as its drop is
 * large, so the image stays visible where occluding changes nothing; the floor keeps the sign of
 * small drops readable. The figures in `occlusion_widget/plot/` use the same rule.
 */
export function alphaOf(scale: ColorScale, value: number): number {
  if (scale.kind !== "diverging") return 255;
  const magnitude = scale.max > 0 ? Math.min(1, Math.abs(value) / scale.max) : 0;
  return Math.round(255 * (SENSITIVITY_ALPHA_FLOOR + (1 - SENSITIVITY_ALPHA_FLOOR) * magnitude));
}

/** How much of a computed cell's opacity an estimated (not yet computed) cell gets. */
export const ESTIMATE_ALPHA = 0.45;

/**
 * The largest |sensitivity| the diverging scale reaches. "auto": the data's largest drop,
 * rounded up, but never below MIN_RANGE, so a map where nothing matters looks pale instead of
 * stretching noise to full colour; "fixed": 1 (the whole probability range).
 */
export function divergingMax(values: ArrayLike<number>, mode: ColorScaleMode): number {
  if (mode === "fixed") return 1;
  return Math.max(symmetricRange(values)[1], MIN_RANGE);
}

/**
 * Colours for every cell of the current view. `highlight` (a class index) dims every cell of the
 * predicted-class map that predicts another class. Cells not computed yet take the colour of the
 * nearest computed cell at a lower opacity (`estimates` says which) so the preview reads as a
 * map; the view hatches them. Before any cell is computed there is no scale.
 */
export function cellColors(snapshot: Snapshot, highlight: number | null = null): CellColors {
  const grid = snapshot.grid;
  const none = { scale: null, colors: null, pending: null, estimates: null, values: null };
  if (grid === null) return none;
  const n = grid.rows * grid.cols;
  let values: Float32Array | null = null;
  let scale: ColorScale;
  let colorOf: (v: number) => RGB;
  if (snapshot.view === "predicted_class") {
    const predicted = predictedClasses(snapshot);
    values = predicted === null ? null : Float32Array.from(predicted, (c) => (c < 0 ? NaN : c));
    scale = { kind: "categorical" };
    colorOf = (cls) => classColor(snapshot, cls);
  } else if (snapshot.view === "probability") {
    values = snapshot.targetMap;
    scale = { kind: "sequential" };
    colorOf = sequentialColor;
  } else {
    values = sensitivity(snapshot);
    const max = divergingMax(values ?? [], snapshot.colorScale);
    scale = { kind: "diverging", max };
    colorOf = (v) => divergingColor(v, max);
  }
  const sources = estimateSources(snapshot);
  let anyComputed = false;
  const colors = new Uint8ClampedArray(n * 4);
  const pending = new Uint8Array(n);
  const estimates = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    let v = values?.[i] ?? NaN;
    const computed = Number.isFinite(v);
    anyComputed ||= computed;
    if (!computed) {
      const from = sources?.[i] ?? -1;
      const estimate = from >= 0 ? (values?.[from] ?? NaN) : NaN;
      if (Number.isFinite(estimate)) {
        v = estimate;
        estimates[i] = from;
      }
    }
    const shown = Number.isFinite(v);
    const dimmed = shown && highlight !== null && scale.kind === "categorical" && v !== highlight;
    const [r, g, b] = shown ? colorOf(v) : NOT_COMPUTED;
    colors[i * 4] = r;
    colors[i * 4 + 1] = g;
    colors[i * 4 + 2] = b;
    // Dimmed cells let the image through; estimates are fainter and get a hatch on top.
    const alpha = dimmed ? 40 : shown ? alphaOf(scale, v) : 0;
    colors[i * 4 + 3] = computed ? alpha : Math.round(alpha * ESTIMATE_ALPHA);
    pending[i] = computed ? 0 : 1;
  }
  if (!anyComputed) return { ...none, pending };
  return { scale, colors, pending, estimates, values };
}
