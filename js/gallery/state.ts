// The gallery's synced traits read once per frame, and the pure helpers its view needs: page
// arithmetic, captions, and one thumbnail's pixels cut out of the page's [n, h, w, 4] array.
import { decodeArray, type EncodedArray, type NDArray } from "../state/codecs";
import { formatProbability } from "../shared/dom";

export type SortKey = "flip_fraction" | "max_drop" | "confidence" | "order";

/** The sort choices in the order the menu lists them, with what a person reads. */
export const SORT_OPTIONS: ReadonlyArray<readonly [SortKey, string]> = [
  ["flip_fraction", "flip fraction"],
  ["max_drop", "largest drop"],
  ["confidence", "confidence"],
  ["order", "sweep order"],
];

export type FilterName = "true" | "predicted" | "misclassified" | "flips_to";

export interface Filters {
  true: number | null;
  predicted: number | null;
  misclassified: boolean;
  flips_to: number | null;
}

/** One image of the page, as occlusion_widget/dataset/query.py's item() sends it. */
export interface GalleryItem {
  id: string;
  true: number | null;
  predicted: number;
  misclassified: boolean;
  flip_fraction: number | null;
  flip_class: number | null;
  max_drop: number | null;
  confidence: number | null;
  width: number;
  height: number;
}

export interface GallerySnapshot {
  labels: string[];
  items: GalleryItem[];
  thumbnails: NDArray | null;
  total: number;
  totalMatching: number;
  page: number;
  pageSize: number;
  sortBy: SortKey;
  descending: boolean;
  filters: Filters;
  selected: string | null;
  error: string;
}

/** The traits of occlusion_widget/gallery.py's GalleryGrid. */
export interface GalleryTraits {
  labels: string[];
  items: GalleryItem[];
  thumbnails: EncodedArray | null;
  total: number;
  total_matching: number;
  page: number;
  page_size: number;
  sort_by: SortKey;
  descending: boolean;
  filters: Partial<Filters>;
  selected: string | null;
  error: string;
}

export const GALLERY_TRAITS: ReadonlyArray<keyof GalleryTraits> = [
  "labels",
  "items",
  "thumbnails",
  "total",
  "total_matching",
  "page",
  "page_size",
  "sort_by",
  "descending",
  "filters",
  "selected",
  "error",
];

interface Readable {
  get(name: string): unknown;
}

function classOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : null;
}

/** Every filter, "any" where the kernel sent none. */
export function readFilters(value: unknown): Filters {
  const f = (value ?? {}) as Partial<Record<FilterName, unknown>>;
  return {
    true: classOrNull(f.true),
    predicted: classOrNull(f.predicted),
    misclassified: f.misclassified === true,
    flips_to: classOrNull(f.flips_to),
  };
}

function count(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

// Decoded once per array the kernel sent: the same page is not redrawn when only the selection
// or a control changes.
const decoded = new WeakMap<object, NDArray | null>();

function decodeOnce(encoded: EncodedArray | null): NDArray | null {
  if (encoded === null || typeof encoded !== "object") return null;
  if (!decoded.has(encoded)) decoded.set(encoded, decodeArray(encoded));
  return decoded.get(encoded) ?? null;
}

const EMPTY: GalleryItem[] = [];
const NO_LABELS: string[] = [];

/** Read the model's traits (each array decoded once). */
export function readGallery(model: Readable): GallerySnapshot {
  const sortBy = model.get("sort_by");
  return {
    labels: (model.get("labels") as string[] | null) ?? NO_LABELS,
    items: (model.get("items") as GalleryItem[] | null) ?? EMPTY,
    thumbnails: decodeOnce(model.get("thumbnails") as EncodedArray | null),
    total: count(model.get("total"), 0),
    totalMatching: count(model.get("total_matching"), 0),
    page: count(model.get("page"), 0),
    pageSize: Math.max(1, count(model.get("page_size"), 24)),
    sortBy: SORT_OPTIONS.some(([key]) => key === sortBy) ? (sortBy as SortKey) : "flip_fraction",
    descending: model.get("descending") !== false,
    filters: readFilters(model.get("filters")),
    selected: (model.get("selected") as string | null) ?? null,
    error: (model.get("error") as string | null) ?? "",
  };
}

/** Number of pages (at least one, even when nothing matches). */
export function pageCount(totalMatching: number, pageSize: number): number {
  return Math.max(1, Math.ceil(totalMatching / Math.max(1, pageSize)));
}

const thousands = (n: number): string => n.toLocaleString("en-US");

/** "Page 2 of 417 · 24 of 10,000 images shown" and the like. */
export function pageText(s: GallerySnapshot): string {
  if (s.totalMatching === 0) {
    return s.total === 0 ? "No swept image to show" : "No image matches these filters";
  }
  const pages = pageCount(s.totalMatching, s.pageSize);
  const of = s.totalMatching === s.total ? "" : ` of ${thousands(s.total)}`;
  return `Page ${s.page + 1} of ${thousands(pages)} · ${thousands(s.totalMatching)}${of} images`;
}

/** A class index as its name ("class 3" past the end of the names). */
export function className(labels: readonly string[], cls: number | null): string {
  if (cls === null) return "unknown";
  return labels[cls] ?? `class ${cls}`;
}

/** "cat → dog" for a mistake, "cat" when right, "dog (true class unknown)" without a label. */
export function caption(item: GalleryItem, labels: readonly string[]): string {
  const predicted = className(labels, item.predicted);
  if (item.true === null) return predicted;
  if (item.true === item.predicted) return predicted;
  return `${className(labels, item.true)} → ${predicted}`;
}

function percent(v: number | null): string {
  return v === null ? "–" : `${Math.round(v * 100)}%`;
}

/** The numbers under a thumbnail, each a unit that never breaks: flips, largest drop, confidence. */
export function metricsParts(item: GalleryItem): string[] {
  const drop = item.max_drop === null ? "–" : item.max_drop.toFixed(2);
  const p = item.confidence === null ? "–" : formatProbability(item.confidence);
  return [`flips ${percent(item.flip_fraction)}`, `drop ${drop}`, `p ${p}`];
}

/** The numbers under a thumbnail on one line (the card's tooltip). */
export function metricsText(item: GalleryItem): string {
  return metricsParts(item).join(" · ");
}

/** A tooltip that says everything about the image, incl. which class it flips to. */
export function itemTitle(item: GalleryItem, labels: readonly string[]): string {
  const truth = item.true === null ? "true class unknown" : `true ${className(labels, item.true)}`;
  const flips =
    item.flip_class === null
      ? "never flips"
      : `flips mostly to ${className(labels, item.flip_class)}`;
  return `${item.id}: ${truth}, predicted ${className(labels, item.predicted)}; ${flips}`;
}

/**
 * The `index`-th thumbnail's RGBA pixels (width x height at the top-left of its slot) as a
 * fresh Uint8ClampedArray, or null when the array does not hold it.
 */
export function thumbnailPixels(
  thumbs: NDArray | null,
  index: number,
  width: number,
  height: number,
): Uint8ClampedArray | null {
  if (thumbs === null || thumbs.dtype !== "uint8" || thumbs.shape.length !== 4) return null;
  const [n = 0, slotHeight = 0, slotWidth = 0, channels = 0] = thumbs.shape;
  if (index < 0 || index >= n || channels !== 4) return null;
  if (width < 1 || height < 1 || width > slotWidth || height > slotHeight) return null;
  const out = new Uint8ClampedArray(width * height * 4);
  const slot = index * slotHeight * slotWidth * 4;
  for (let y = 0; y < height; y++) {
    const from = slot + y * slotWidth * 4;
    out.set(thumbs.data.subarray(from, from + width * 4), y * width * 4);
  }
  return out;
}
