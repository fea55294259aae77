// What colour each cell of the map gets in each view, and the scale the colour bar shows.
import {
  categoricalColor,
  divergingColor,
  NOT_COMPUTED,
  SENSITIVITY_ALPHA_FLOOR,
  sequentialColor,
  symmetricRange,
  type RGB,
} from "./colormap";
import { classesByBaseProbability, predictedClasses, sensitivity } from "./selectors";
import type { Snapshot } from "./sync";

export type ColorScale =
  { kind: "diverging"; max: number } | { kind: "sequential" } | { kind: "categorical" };

export interface CellColors {
  scale: ColorScale | null;
  /** RGBA per cell (rows * cols * 4); null when there is nothing to draw. */
  colors: Uint8ClampedArray | null;
  /** 1 where the cell is not computed yet. */
  pending: Uint8Array | null;
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

/**
 * Colours for every cell of the current view. `highlight` (a class index) dims every cell of the
 * predicted-class map that predicts another class.
 */
export function cellColors(snapshot: Snapshot, highlight: number | null = null): CellColors {
  const grid = snapshot.grid;
  if (grid === null) return { scale: null, colors: null, pending: null, values: null };
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
    const max = values === null ? 1 : symmetricRange(values)[1];
    scale = { kind: "diverging", max };
    colorOf = (v) => divergingColor(v, max);
  }
  const colors = new Uint8ClampedArray(n * 4);
  const pending = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = values?.[i] ?? NaN;
    const computed = Number.isFinite(v);
    const dimmed =
      computed && highlight !== null && scale.kind === "categorical" && v !== highlight;
    const [r, g, b] = computed ? colorOf(v) : NOT_COMPUTED;
    colors[i * 4] = r;
    colors[i * 4 + 1] = g;
    colors[i * 4 + 2] = b;
    // Dimmed cells let the image through; not-computed cells get their hatch on top.
    colors[i * 4 + 3] = dimmed ? 40 : computed ? alphaOf(scale, v) : 0;
    pending[i] = computed ? 0 : 1;
  }
  return { scale, colors, pending, values };
}
