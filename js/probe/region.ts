// The live occluder ("probe"), pure parts: a dragged rectangle or a painted mask in image pixels,
// the pixels it covers (composed by state/compose.ts, as the inspector's cells are), and the
// request queue that keeps at most one probe in flight (the latest region waits; older ones are
// dropped). No DOM: see view.ts.
import type { PixelMask } from "../state/compose";
import { boxText, type Box } from "../state/geometry";

/** [top, left, height, width] in image pixels, as the kernel reads `region.box`. */
export type BoxTuple = [number, number, number, number];

/** A region to probe: a box, or a row-major H*W mask (1 = inside). */
export type ProbeRegion =
  | { kind: "box"; box: BoxTuple }
  | { kind: "mask"; mask: Uint8Array; width: number; height: number };

/** A point in image pixel coordinates (fractions allowed). */
export type Point = readonly [number, number]; // [x, y]

/**
 * The box a drag from `a` to `b` covers, snapped outwards to whole image pixels and clipped to
 * the image; at least one pixel, so a click probes the pixel under it.
 */
export function dragBox(a: Point, b: Point, width: number, height: number): BoxTuple {
  const clampX = (v: number): number => Math.min(width, Math.max(0, v));
  const clampY = (v: number): number => Math.min(height, Math.max(0, v));
  let left = Math.floor(clampX(Math.min(a[0], b[0])));
  let top = Math.floor(clampY(Math.min(a[1], b[1])));
  let right = Math.ceil(clampX(Math.max(a[0], b[0])));
  let bottom = Math.ceil(clampY(Math.max(a[1], b[1])));
  if (right <= left) [left, right] = left >= width ? [width - 1, width] : [left, left + 1];
  if (bottom <= top) [top, bottom] = top >= height ? [height - 1, height] : [top, top + 1];
  return [top, left, bottom - top, right - left];
}

/** Set to 1 every pixel whose centre lies within `radius` of (cx, cy). Returns `mask`. */
export function paintDisc(
  mask: Uint8Array,
  width: number,
  height: number,
  [cx, cy]: Point,
  radius: number,
): Uint8Array {
  const r = Math.max(0.5, radius);
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(height - 1, Math.ceil(cy + r));
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(width - 1, Math.ceil(cx + r));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      if (dx * dx + dy * dy <= r * r) mask[y * width + x] = 1;
    }
  }
  return mask;
}

/** Paint a brush stroke from `a` to `b`: discs along the segment, no gaps between them. */
export function paintStroke(
  mask: Uint8Array,
  width: number,
  height: number,
  a: Point,
  b: Point,
  radius: number,
): Uint8Array {
  const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
  const steps = Math.max(1, Math.ceil(length / Math.max(0.5, radius / 2)));
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    paintDisc(mask, width, height, [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t], radius);
  }
  return mask;
}

/** Pixels inside the region. */
export function regionArea(region: ProbeRegion): number {
  if (region.kind === "box") return region.box[2] * region.box[3];
  let n = 0;
  for (const v of region.mask) n += v === 0 ? 0 : 1;
  return n;
}

/** A short description in reading order: "30 wide × 24 tall box at x=10, y=4", or "mask of 311 pixels". */
export function describeRegion(region: ProbeRegion): string {
  if (region.kind === "mask") return `mask of ${regionArea(region)} pixels`;
  const [top, left, h, w] = region.box;
  return boxText({ top, left, height: h, width: w }, "box");
}

/** The pixels a region covers, as the one composition (state/compose.ts) takes them. */
export function coveredPixels(region: ProbeRegion): Box | PixelMask {
  if (region.kind === "mask") return region;
  const [top, left, height, width] = region.box;
  return { top, left, height, width };
}

/** The message body and buffers for a probe request (CONTRACT2). */
export function probeMessage(region: ProbeRegion): {
  region: { box: BoxTuple } | { mask: true };
  buffers: Uint8Array[];
} {
  if (region.kind === "box") return { region: { box: [...region.box] }, buffers: [] };
  return { region: { mask: true }, buffers: [region.mask.slice()] };
}

/**
 * At most one probe in flight: a region asked for while one is out waits, and a newer one
 * replaces it (a drag asks many times; only where it is now matters). `clear` forgets the waiting
 * one and marks the one in flight as outdated, so its answer is not shown.
 */
export class ProbeQueue<Answer> {
  private inFlight = false;
  private waiting: ProbeRegion | null = null;
  private generation = 0;
  private flightGeneration = 0;
  /** The region in flight, or else the one last answered: asking again for it is a no-op. */
  private latest: string | null = null;

  constructor(
    private readonly start: (region: ProbeRegion, done: (answer: Answer | null) => void) => void,
    private readonly show: (region: ProbeRegion, answer: Answer | null) => void,
  ) {}

  get busy(): boolean {
    return this.inFlight;
  }

  /** An answer is still to be shown: a region is in flight (and not outdated) or waiting. */
  get pending(): boolean {
    return (this.inFlight && this.flightGeneration === this.generation) || this.waiting !== null;
  }

  request(region: ProbeRegion): void {
    const key = regionKey(region);
    if (key !== null && key === this.latest) {
      // A mouse-up on the box the drag already asked for: that answer is (or will be) shown.
      this.waiting = null;
      return;
    }
    if (this.inFlight) {
      this.waiting = region;
      return;
    }
    this.inFlight = true;
    this.latest = key;
    const generation = this.generation;
    this.flightGeneration = generation;
    this.start(region, (answer) => {
      this.inFlight = false;
      if (generation === this.generation) this.show(region, answer);
      const next = this.waiting;
      this.waiting = null;
      if (next !== null) this.request(next);
    });
  }

  clear(): void {
    this.waiting = null;
    this.latest = null;
    this.generation++;
  }
}

/** A box's identity (masks are painted anew each time: never the same request). */
function regionKey(region: ProbeRegion): string | null {
  return region.kind === "box" ? region.box.join(",") : null;
}
