// Pure value -> colour mapping. No DOM, so every function here can be tested on numbers.
// The palettes live in one file that the browser bundle and `w.save()` (Python) both read, so the
// saved PNG has the colours of the widget.
import palettes from "../../occlusion_widget/data/palettes.json";

export type RGB = readonly [number, number, number];

/** A colour ramp: control points at evenly spaced positions 0..1, linearly interpolated. */
export type Ramp = readonly RGB[];

function hex(code: string): RGB {
  const n = Number.parseInt(code.replace("#", ""), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function rgb(values: readonly number[]): RGB {
  return [values[0] ?? 0, values[1] ?? 0, values[2] ?? 0];
}

/**
 * Diverging map for sensitivity, centred on zero: blue (occluding raises the target's
 * probability) -> neutral light grey (no effect) -> red (occluding lowers it). The ends differ in
 * hue and both lose lightness symmetrically, so it reads for red-green colour-blind viewers, in the
 * spirit of Moreland's "cool to warm" map; the points are our own.
 */
export const DIVERGING: Ramp = palettes.diverging.map(rgb);

/** Sequential perceptual map for probabilities 0..1: viridis sampled at nine points. */
export const SEQUENTIAL: Ramp = palettes.sequential.map(hex);

/**
 * Categorical palette for predicted classes: Okabe & Ito's colour-blind-safe colours (black
 * left out, it hides in dark images), then Paul Tol's "muted" colours that are far enough from them.
 */
export const CATEGORICAL: readonly RGB[] = palettes.categorical.map(hex);

/** The colour for classes past the end of the palette: a neutral, named "other" in the legend. */
export const OTHER_CLASS: RGB = rgb(palettes.other_class);

/** Cells whose value is not computed yet (drawn with a hatch on top, see heatmap.ts). */
export const NOT_COMPUTED: RGB = rgb(palettes.not_computed);

/** Opacity of a sensitivity cell whose drop is zero (see alphaOf in scales.ts). */
export const SENSITIVITY_ALPHA_FLOOR: number = palettes.sensitivity_alpha_floor;

/**
 * The smallest half-range of the automatic sensitivity scale, in probability units: a map whose
 * largest drop is 0.001 is drawn pale on a ±0.05 scale, not stretched to full colour. Read from
 * the palette file ("scale": {"min_range": ...}) so matplotlib uses the same number.
 */
export const MIN_RANGE: number = palettes.scale.min_range;

/**
 * A map whose every change is at most this (probability units) says nothing; the widget says so
 * above it (the kernel's `note`, or selectors.flatNote when the kernel sends none).
 */
export const FLAT_BELOW: number = palettes.scale.flat_below;

/** Sample a ramp at t in 0..1 (clamped); NaN gives the not-computed grey. */
export function sampleRamp(ramp: Ramp, t: number): RGB {
  if (Number.isNaN(t)) return NOT_COMPUTED;
  const clamped = Math.min(1, Math.max(0, t));
  const last = ramp.length - 1;
  const x = clamped * last;
  const i = Math.min(last - 1, Math.floor(x));
  const f = x - i;
  const a = ramp[i] ?? NOT_COMPUTED;
  const b = ramp[i + 1] ?? a;
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/** Map value from [lo, hi] to [0, 1], clamped. A degenerate range maps everything to 0.5. */
export function normalize(value: number, lo: number, hi: number): number {
  if (Number.isNaN(value)) return Number.NaN;
  if (!(hi > lo)) return 0.5;
  return Math.min(1, Math.max(0, (value - lo) / (hi - lo)));
}

/**
 * Round a positive magnitude up to two significant digits, so colour bar ends read cleanly.
 * Rounded to 12 decimals like palette.nice_ceil, so 0.07 is 0.07 on both sides (not
 * 0.07000000000000001) and a cell's colour cannot differ between the widget and a figure.
 */
export function niceCeil(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 1;
  const step = 10 ** (Math.floor(Math.log10(value)) - 1);
  return Number((Math.ceil(value / step - 1e-9) * step).toFixed(12));
}

/**
 * Symmetric range [-m, m] of the sensitivity scale (palette.symmetric_max): m is the largest
 * finite |value| (NaN ignored) rounded up, never below MIN_RANGE, so noise is drawn pale.
 */
export function symmetricRange(values: ArrayLike<number>): [number, number] {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? Number.NaN;
    if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  }
  const top = niceCeil(Math.max(m, MIN_RANGE));
  return [-top, top];
}

/** Colour of the diverging map for a signed value in a symmetric range [-m, m]. */
export function divergingColor(value: number, m: number): RGB {
  return sampleRamp(DIVERGING, normalize(value, -m, m));
}

/** Colour of the sequential map for a probability in 0..1. */
export function sequentialColor(p: number): RGB {
  return sampleRamp(SEQUENTIAL, p);
}

/** The i-th colour of the categorical palette; past its end (or negative), the "other" grey. */
export function categoricalColor(rank: number): RGB {
  if (rank < 0 || !Number.isInteger(rank)) return OTHER_CLASS;
  return CATEGORICAL[rank] ?? OTHER_CLASS;
}

/** WCAG relative luminance of an sRGB colour, 0..1. */
export function luminance([r, g, b]: RGB): number {
  const lin = (c: number): number => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** CSS colour string. */
export function css([r, g, b]: RGB, alpha = 1): string {
  return alpha >= 1 ? `rgb(${r}, ${g}, ${b})` : `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** A CSS linear-gradient through a ramp, for colour bars drawn without a canvas. */
export function cssGradient(ramp: Ramp, direction = "to right"): string {
  const last = Math.max(1, ramp.length - 1);
  const stops = ramp.map((c, i) => `${css(c)} ${((i / last) * 100).toFixed(1)}%`);
  return `linear-gradient(${direction}, ${stops.join(", ")})`;
}
