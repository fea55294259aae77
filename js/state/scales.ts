// What colour each cell of the map gets in each view, and the scale the colour bar shows.
import {
  CATEGORICAL,
  divergingColor,
  NOT_COMPUTED,
  OTHER_CLASS,
  SENSITIVITY_ALPHA_FLOOR,
  sequentialColor,
  symmetricRange,
  type RGB,
} from "./colormap";
import { NEAREST, type Preview } from "./preview";
import { predictedClasses, previewOf, sensitivity } from "./selectors";
import type { ColorScaleMode, Snapshot } from "./sync";

export type ColorScale =
  { kind: "diverging"; max: number } | { kind: "sequential" } | { kind: "categorical" };

export interface CellColors {
  scale: ColorScale | null;
  /** RGBA per cell (rows * cols * 4); null when there is nothing to draw. */
  colors: Uint8ClampedArray | null;
  /** 1 where the cell is not computed yet. */
  pending: Uint8Array | null;
  /**
   * Per cell not computed yet, the cell its preview rests on most (the nearest computed cell,
   * or the nearest corner of the block it is interpolated in); -1 where computed or none.
   */
  estimates: Int32Array | null;
  /** The value per cell the colours stand for (sensitivity, probability or class index). */
  values: Float32Array | null;
}

/** How the classes shown in one predicted-class map are coloured (palette.py `class_colors`). */
export interface ClassColorRule {
  /** Every shown class and its number of cells, most frequent first (ties by index). */
  counts: [number, number][];
  /** The classes with a colour of their own: CATEGORICAL[i] is named[i]'s colour. */
  named: number[];
  /** The classes merged into one "other classes (n)" entry (OTHER_CLASS), most frequent first. */
  other: number[];
}

/**
 * The colour rule shared with `occlusion_widget/palette.py` (`class_colors`), so a class has the
 * same colour in the widget, in `save()` and in every figure of the same map:
 * 1. the shown classes are the distinct predicted classes (-1, not computed, is left out);
 * 2. past `slots` (the palette's 12 colours) the most frequent keep a colour (ties: higher base
 *    probability, then lower index) and the rest merge into one grey "other" entry;
 * 3. the kept classes are ordered by base probability (ties: lower index); the i-th gets
 *    CATEGORICAL[i], so no two shown classes share a colour.
 */
export function classColorRule(
  classes: ArrayLike<number>,
  base: ArrayLike<number> | null,
  slots: number = CATEGORICAL.length,
): ClassColorRule {
  const tally = new Map<number, number>();
  for (let i = 0; i < classes.length; i++) {
    const cls = classes[i] ?? -1;
    if (cls >= 0) tally.set(cls, (tally.get(cls) ?? 0) + 1);
  }
  // A missing probability counts as the lowest, like a class the base ranking never saw.
  const p = (cls: number): number => {
    const v = base?.[cls];
    return v === undefined || Number.isNaN(v) ? -Infinity : Math.fround(v);
  };
  const values = [...tally.keys()];
  const byCount = [...values].sort(
    (a, b) => (tally.get(b) ?? 0) - (tally.get(a) ?? 0) || p(b) - p(a) || a - b,
  );
  const named = byCount.slice(0, slots).sort((a, b) => p(b) - p(a) || a - b);
  const other = byCount.slice(slots);
  const counts = values
    .map((cls): [number, number] => [cls, tally.get(cls) ?? 0])
    .sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return { counts, named, other };
}

/** The map's classes per top-k array; the base probabilities are checked on each hit. */
const ruleCache = new WeakMap<object, { base: unknown; rule: ClassColorRule }>();

/** The colour rule of the snapshot's predicted-class map (cached per result and base arrays). */
export function snapshotClassRule(
  snapshot: Pick<Snapshot, "grid" | "topkIndices" | "k" | "base">,
): ClassColorRule {
  const key = snapshot.topkIndices;
  if (key === null) return { counts: [], named: [], other: [] };
  const hit = ruleCache.get(key);
  if (hit !== undefined && hit.base === snapshot.base) return hit.rule;
  const predicted = predictedClasses(snapshot) ?? [];
  const rule = classColorRule(predicted, snapshot.base);
  ruleCache.set(key, { base: snapshot.base, rule });
  return rule;
}

/** The colour of a class in the current map; a class not among its named ones is grey. */
export function classColor(
  snapshot: Pick<Snapshot, "grid" | "topkIndices" | "k" | "base">,
  cls: number,
): RGB {
  const named = snapshotClassRule(snapshot).named.indexOf(cls);
  return named < 0 ? OTHER_CLASS : (CATEGORICAL[named] ?? OTHER_CLASS);
}

/** `highlight` value that lights every class merged into the "other classes" entry. */
export const OTHER_HIGHLIGHT = -2;

/**
 * Opacity of a computed cell (0..255). On the sensitivity map a cell is as opaque as its drop is
 * large, so the image stays visible where occluding changes nothing; the floor keeps the sign of
 * small drops readable. Twin: `palette.sensitivity_alpha` (python), which figures use.
 */
export function alphaOf(scale: ColorScale, value: number): number {
  if (scale.kind !== "diverging") return 255;
  const magnitude = scale.max > 0 ? Math.min(1, Math.abs(value) / scale.max) : 0;
  return Math.round(255 * (SENSITIVITY_ALPHA_FLOOR + (1 - SENSITIVITY_ALPHA_FLOOR) * magnitude));
}

/** How much of a computed cell's opacity an estimated (not yet computed) cell gets. */
export const ESTIMATE_ALPHA = 0.45;

/** The block corner an interpolated cell is nearest to (in cells). */
function nearestCorner(i: number, preview: Preview, snapshot: Snapshot): number {
  const cols = snapshot.grid?.cols ?? 1;
  const a = preview.from[i * 2] ?? -1;
  const b = preview.from[i * 2 + 1] ?? -1;
  if (a < 0 || b < 0) return -1;
  const [r, c] = [Math.floor(i / cols), i % cols];
  const [r0, c0, r1, c1] = [Math.floor(a / cols), a % cols, Math.floor(b / cols), b % cols];
  const rr = r - r0 <= r1 - r ? r0 : r1;
  const cc = c - c0 <= c1 - c ? c0 : c1;
  return rr * cols + cc;
}

/**
 * The largest |sensitivity| the diverging scale reaches. "auto": the data's largest drop,
 * rounded up, but never below MIN_RANGE (colormap.ts), so a map where nothing matters looks pale instead of
 * stretching noise to full colour; "fixed": 1 (the whole probability range).
 */
export function divergingMax(values: ArrayLike<number>, mode: ColorScaleMode): number {
  if (mode === "fixed") return 1;
  return symmetricRange(values)[1];
}

/**
 * Colours for every cell of the current view. `highlight` (a class index) dims every cell of the
 * predicted-class map that predicts another class. Cells not computed yet show their preview
 * (preview.ts: interpolated as method="adaptive" would, else the nearest computed cell's value)
 * at a lower opacity (`estimates` says which cell it rests on most) so the preview reads as a
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
  let isLit = (v: number): boolean => v === highlight;
  if (snapshot.view === "predicted_class") {
    const predicted = predictedClasses(snapshot);
    values = predicted === null ? null : Float32Array.from(predicted, (c) => (c < 0 ? NaN : c));
    scale = { kind: "categorical" };
    const rule = snapshotClassRule(snapshot);
    colorOf = (cls) => classColor(snapshot, cls);
    if (highlight === OTHER_HIGHLIGHT) {
      const lit = new Set(rule.other);
      isLit = (cls) => lit.has(cls);
    }
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
  const preview = previewOf(snapshot, values, scale.kind === "categorical");
  let anyComputed = false;
  const colors = new Uint8ClampedArray(n * 4);
  const pending = new Uint8Array(n);
  const estimates = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    let v = values?.[i] ?? NaN;
    // method="adaptive" sends values for every cell; those it interpolated read as previews.
    const computed = Number.isFinite(v) && snapshot.estimated?.[i] !== 1;
    const sent = Number.isFinite(v);
    anyComputed ||= sent;
    if (!sent) {
      const estimate = preview?.values[i] ?? NaN;
      if (Number.isFinite(estimate) && preview !== null) {
        v = estimate;
        estimates[i] =
          preview.kind[i] === NEAREST
            ? (preview.from[i * 2] ?? -1)
            : nearestCorner(i, preview, snapshot);
      }
    }
    const shown = Number.isFinite(v);
    const dimmed = shown && highlight !== null && scale.kind === "categorical" && !isLit(v);
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
