// The synced traits (docs/protocol.md) decoded once into one typed snapshot. Every field may be
// missing before the first sweep result arrives; views draw whatever is there. Values derived
// from the snapshot (sensitivity, rankings, ...) live in selectors.ts.
import palettes from "../../occlusion_widget/data/palettes.json";
import { decodeArray, type EncodedArray, type NDArray } from "./codecs";

// The views and colour scales are listed once, in data/palettes.json beside the palette, and
// Python reads the same lists (palette.VIEWS, palette.COLOR_SCALES). The types name them for the
// compiler; state/sync.test.ts holds the types and the file to the same names.
export type ViewName = "sensitivity" | "probability" | "predicted_class";
/** Every view, in menu order. */
export const VIEWS = palettes.views as readonly ViewName[];

export type Status = "idle" | "running" | "done" | "cancelled" | "error";
/** "auto": the colour scale follows the data (with an honest floor); "fixed": -1..1 / 0..1. */
export type ColorScaleMode = "auto" | "fixed";
/** Every colour scale, in menu order. */
export const COLOR_SCALES = palettes.color_scales as readonly ColorScaleMode[];
export type Cell = readonly [number, number];
/** "occlude": each patch hidden under the baseline; "reveal": only each patch shown. */
export type SweepMode = "occlude" | "reveal";

/** The traits as they arrive from the kernel (binary arrays still encoded). */
export interface ModelTraits {
  _version: string;
  image: EncodedArray | null;
  baseline_image: EncodedArray | null;
  grid: RawGrid | null;
  labels: string[] | null;
  base_probabilities: EncodedArray | null;
  topk_indices: EncodedArray | null;
  topk_probabilities: EncodedArray | null;
  target_map: EncodedArray | null;
  /** method="approximate": uint8 [rows, cols], 1 where the values are estimated; else null. */
  estimated: EncodedArray | null;
  /** One class, a group of classes (the map is their summed probability), or null. */
  target: number | number[] | null;
  view: string | null;
  selected: number[] | null;
  opacity: number | null;
  patch_size: number[] | null;
  stride: number[] | null;
  baseline: string | null;
  baseline_options: string[] | null;
  top_k: number | null;
  status: string | null;
  progress: Progress | null;
  error: string | null;
  color_scale: string | null;
  note: string | null;
  mode: string | null;
  /** [K] probabilities of the all-baseline image (reveal mode's reference), null otherwise. */
  baseline_probabilities: EncodedArray | null;
  /** False where no kernel answers (the standalone page); missing means true. */
  _kernel: boolean | null;
  /** Why Recompute and Probe are off though a kernel answers (no model), or "". */
  _no_model: string | null;
  /** A line above the widget naming what it shows, or "". */
  caption: string | null;
}

export const TRAITS: readonly (keyof ModelTraits)[] = [
  "image",
  "baseline_image",
  "grid",
  "labels",
  "base_probabilities",
  "topk_indices",
  "topk_probabilities",
  "target_map",
  "estimated",
  "target",
  "view",
  "selected",
  "opacity",
  "patch_size",
  "stride",
  "baseline",
  "baseline_options",
  "top_k",
  "status",
  "progress",
  "error",
  "color_scale",
  "note",
  "mode",
  "baseline_probabilities",
  "_kernel",
  "_no_model",
  "caption",
];

export interface RawGrid {
  rows: number;
  cols: number;
  patch: number[];
  stride: number[];
  tops: EncodedArray | number[];
  lefts: EncodedArray | number[];
}

export interface Grid {
  rows: number;
  cols: number;
  patch: [number, number];
  stride: [number, number];
  tops: Int32Array;
  lefts: Int32Array;
}

export interface Progress {
  done?: number | null;
  total?: number | null;
  elapsed?: number | null;
  eta?: number | null;
}

export interface RGBAImage {
  width: number;
  height: number;
  data: Uint8ClampedArray; // width * height * 4
}

export interface Snapshot {
  image: RGBAImage | null;
  baselineImage: RGBAImage | null;
  grid: Grid | null;
  labels: readonly string[];
  base: Float32Array | null;
  /** [rows * cols * k], -1 where not computed; null when missing or not matching the grid. */
  topkIndices: Int32Array | null;
  topkProbabilities: Float32Array | null;
  k: number;
  /** [rows * cols], NaN where not computed; null when missing or computed for another target. */
  targetMap: Float32Array | null;
  /**
   * [rows * cols], 1 where method="approximate" estimated the cell's values (it was not
   * computed); null for an exact sweep.
   */
  estimated: Uint8Array | null;
  /** The target class, or the group whose probabilities are summed; never empty. */
  targets: readonly number[];
  view: ViewName;
  selected: Cell | null;
  opacity: number;
  patchSize: [number, number];
  stride: [number, number];
  baseline: string;
  baselineOptions: readonly string[];
  status: Status;
  progress: Progress;
  error: string;
  colorScale: ColorScaleMode;
  /** What the kernel wants said above the map (e.g. that the map says nothing), or "". */
  note: string;
  mode: SweepMode;
  /** The all-baseline image's probabilities: the reference of reveal mode; null if not sent. */
  baselineProbabilities: Float32Array | null;
  /** A kernel answers requests (false on the standalone page). */
  kernel: boolean;
  /** Why the kernel has no model to recompute or probe with ("" when it has one). */
  noModel: string;
  caption: string;
}

/** Anything with a get(name) like anywidget's model. */
export interface TraitSource {
  get(name: string): unknown;
}

// Decoding is zero-copy but we still avoid redoing it for every frame.
const decoded = new WeakMap<object, NDArray | null>();

function decode(value: unknown): NDArray | null {
  if (value === null || typeof value !== "object") return null;
  const hit = decoded.get(value);
  if (hit !== undefined) return hit;
  let result: NDArray | null;
  try {
    result = decodeArray(value as EncodedArray);
  } catch {
    result = null; // a malformed array is drawn as "not available", never thrown at the page
  }
  decoded.set(value, result);
  return result;
}

const rgbaCache = new WeakMap<NDArray, RGBAImage | null>();

/** uint8 [H, W, 4] (also [H, W, 3] / [H, W] / [H, W, 1], to be forgiving) -> RGBA. */
export function toRGBA(array: NDArray | null): RGBAImage | null {
  if (array === null) return null;
  const cached = rgbaCache.get(array);
  if (cached !== undefined) return cached;
  const [height = 0, width = 0, channels = 1] = array.shape;
  let image: RGBAImage | null = null;
  if (array.shape.length >= 2 && height > 0 && width > 0 && [1, 3, 4].includes(channels)) {
    const src = array.data;
    let data: Uint8ClampedArray;
    if (channels === 4 && (src instanceof Uint8Array || src instanceof Uint8ClampedArray)) {
      data = new Uint8ClampedArray(src.buffer, src.byteOffset, src.length);
    } else {
      data = new Uint8ClampedArray(width * height * 4);
      for (let i = 0; i < width * height; i++) {
        for (let ch = 0; ch < 3; ch++) {
          data[i * 4 + ch] = src[i * channels + (channels === 1 ? 0 : ch)] ?? 0;
        }
        data[i * 4 + 3] = channels === 4 ? (src[i * 4 + 3] ?? 255) : 255;
      }
    }
    image = { width, height, data };
  }
  rgbaCache.set(array, image);
  return image;
}

function toFloat32(array: NDArray | null): Float32Array | null {
  if (array === null) return null;
  return array.data instanceof Float32Array ? array.data : Float32Array.from(array.data);
}

function toInt32(value: EncodedArray | number[] | undefined): Int32Array | null {
  if (Array.isArray(value)) return Int32Array.from(value);
  const array = decode(value);
  if (array === null) return null;
  return array.data instanceof Int32Array ? array.data : Int32Array.from(array.data);
}

function pair(value: unknown, fallback: [number, number]): [number, number] {
  if (Array.isArray(value) && value.length >= 2) {
    const a = Number(value[0]);
    const b = Number(value[1]);
    if (Number.isFinite(a) && Number.isFinite(b)) return [a, b];
  }
  if (typeof value === "number" && Number.isFinite(value)) return [value, value];
  return fallback;
}

const gridCache = new WeakMap<object, Grid | null>();

export function readGrid(raw: unknown): Grid | null {
  if (raw === null || typeof raw !== "object") return null;
  const hit = gridCache.get(raw);
  if (hit !== undefined) return hit;
  const g = raw as Partial<RawGrid>;
  const tops = toInt32(g.tops);
  const lefts = toInt32(g.lefts);
  let grid: Grid | null = null;
  if (tops !== null && lefts !== null && tops.length > 0 && lefts.length > 0) {
    grid = {
      rows: tops.length,
      cols: lefts.length,
      patch: pair(g.patch, [1, 1]),
      stride: pair(g.stride, [1, 1]),
      tops,
      lefts,
    };
  }
  gridCache.set(raw, grid);
  return grid;
}

const targetsCache = new Map<string, readonly number[]>();

/**
 * The `target` trait as a sorted list of distinct class indices: an int is a group of one; null,
 * an empty list or garbage is class 0 (the map is drawn as "not computed" until the kernel says).
 * The same group always gives the same array, so it can key caches.
 */
export function readTargets(value: unknown): readonly number[] {
  const raw = Array.isArray(value) ? value : [value];
  const classes = [...new Set(raw.map(Number).filter((v) => Number.isInteger(v) && v >= 0))].sort(
    (a, b) => a - b,
  );
  if (classes.length === 0) classes.push(0);
  const key = classes.join(",");
  let hit = targetsCache.get(key);
  if (hit === undefined) {
    hit = Object.freeze(classes);
    targetsCache.set(key, hit);
  }
  return hit;
}

function asView(value: unknown): ViewName {
  return VIEWS.includes(value as ViewName) ? (value as ViewName) : "sensitivity";
}

/** A colour scale from the model or a menu; "auto" for anything not in the list. */
export function asColorScale(value: unknown): ColorScaleMode {
  return COLOR_SCALES.includes(value as ColorScaleMode) ? (value as ColorScaleMode) : "auto";
}

function asStatus(value: unknown): Status {
  const all: Status[] = ["idle", "running", "done", "cancelled", "error"];
  return all.includes(value as Status) ? (value as Status) : "idle";
}

/**
 * Read the model into a snapshot.
 *
 * `staleMap`: the browser changed `target` and the kernel has not sent the new `target_map` yet;
 * we would rather draw "not computed" than another class's map under this class's name.
 */
export function readSnapshot(model: TraitSource, staleMap = false): Snapshot {
  const image = toRGBA(decode(model.get("image")));
  const baselineImage = toRGBA(decode(model.get("baseline_image")));
  const grid = readGrid(model.get("grid"));
  const cells = grid === null ? 0 : grid.rows * grid.cols;

  const topkI = decode(model.get("topk_indices"));
  const topkP = decode(model.get("topk_probabilities"));
  let topkIndices: Int32Array | null = null;
  let topkProbabilities: Float32Array | null = null;
  let k = 0;
  // Arrays that do not match the grid belong to a sweep in flight: treat them as missing.
  if (
    grid !== null &&
    topkI !== null &&
    topkI.data instanceof Int32Array &&
    topkI.shape[0] === grid.rows &&
    topkI.shape[1] === grid.cols
  ) {
    k = topkI.shape[2] ?? 1;
    topkIndices = topkI.data;
    if (
      topkP !== null &&
      topkP.data instanceof Float32Array &&
      topkP.data.length === topkI.data.length
    ) {
      topkProbabilities = topkP.data;
    }
  }

  const targets = readTargets(model.get("target"));
  const map = decode(model.get("target_map"));
  let targetMap: Float32Array | null = null;
  if (map !== null && map.data instanceof Float32Array && map.data.length === cells && !staleMap) {
    targetMap = map.data;
  }

  const rawEstimated = decode(model.get("estimated"));
  const estimated =
    rawEstimated !== null &&
    rawEstimated.data instanceof Uint8Array &&
    rawEstimated.data.length === cells &&
    cells > 0
      ? rawEstimated.data
      : null;

  const base = toFloat32(decode(model.get("base_probabilities")));

  const rawLabels = model.get("labels");
  const labels = Array.isArray(rawLabels) ? rawLabels.map((s) => String(s)) : [];

  const rawSelected = model.get("selected");
  let selected: Cell | null = null;
  if (grid !== null && Array.isArray(rawSelected) && rawSelected.length === 2) {
    const [r, c] = rawSelected.map(Number) as [number, number];
    if (r >= 0 && r < grid.rows && c >= 0 && c < grid.cols) selected = [r, c];
  }

  const opacity = Number(model.get("opacity"));
  const options = model.get("baseline_options");
  const progress = model.get("progress");
  const text = (v: unknown): string => (typeof v === "string" ? v : "");
  return {
    image,
    baselineImage,
    grid,
    labels,
    base,
    topkIndices,
    topkProbabilities,
    k,
    targetMap,
    estimated,
    targets,
    view: asView(model.get("view")),
    selected,
    opacity: Number.isFinite(opacity) ? Math.min(1, Math.max(0, opacity)) : 0.6,
    patchSize: pair(model.get("patch_size"), grid?.patch ?? [16, 16]),
    stride: pair(model.get("stride"), grid?.stride ?? [8, 8]),
    baseline: String(model.get("baseline") ?? "gray"),
    baselineOptions: Array.isArray(options) ? options.map((s) => String(s)) : [],
    status: asStatus(model.get("status")),
    progress: progress !== null && typeof progress === "object" ? (progress as Progress) : {},
    error: text(model.get("error")),
    colorScale: asColorScale(model.get("color_scale")),
    note: text(model.get("note")),
    mode: model.get("mode") === "reveal" ? "reveal" : "occlude",
    baselineProbabilities: toFloat32(decode(model.get("baseline_probabilities"))),
    kernel: model.get("_kernel") !== false,
    noModel: text(model.get("_no_model")),
    caption: text(model.get("caption")),
  };
}
