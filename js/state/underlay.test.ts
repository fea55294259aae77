import { describe, expect, it } from "vitest";
import { DIVERGING, SENSITIVITY_ALPHA_FLOOR, type RGB } from "./colormap";
import fixture from "../fixtures/underlay.json";
import { underlayPixels } from "./underlay";

const rgba = (colours: number[][]) => Uint8ClampedArray.from(colours.flatMap((c) => [...c, 255]));

/** What the canvas draws: a cell of `alpha` laid at globalAlpha `opacity` over `under`. */
function sourceOver(under: RGB, cell: RGB, alpha: number, opacity: number): RGB {
  const a = alpha * opacity;
  const mix = (i: 0 | 1 | 2) => Math.round(under[i] * (1 - a) + cell[i] * a);
  return [mix(0), mix(1), mix(2)];
}

const saturation = (c: RGB) => (Math.max(...c) - Math.min(...c)) / Math.max(1, ...c);
const distance = (a: RGB, b: RGB) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

function greys(colours: number[][]): RGB[] {
  const out = underlayPixels(rgba(colours));
  return colours.map((_, i) => [out[4 * i] ?? 0, out[4 * i + 1] ?? 0, out[4 * i + 2] ?? 0]);
}

describe("underlayPixels on the classroom toy", () => {
  const background = greys(fixture.background);
  const zero = DIVERGING[Math.floor(DIVERGING.length / 2)] ?? [0, 0, 0]; // no change
  const strongest = DIVERGING[0] ?? [0, 0, 0]; // occluding raises the target most

  it("draws the greys the figures draw (plot/_common.py underlay)", () => {
    const all = greys([...fixture.background, ...fixture.shape]);
    expect(all.map((c) => c[0])).toEqual(fixture.grey);
    for (const c of all) expect(c[1] === c[0] && c[2] === c[0]).toBe(true);
    expect(underlayPixels(Uint8ClampedArray.from([10, 20, 30, 77]))[3]).toBe(77); // alpha kept
  });

  it("keeps the dark blue background from reading as a map colour, at any opacity", () => {
    for (const opacity of [0.1, 0.3, 0.6, 0.8, 1]) {
      for (const under of background) {
        const shown = sourceOver(under, zero, SENSITIVITY_ALPHA_FLOOR, opacity);
        expect(saturation(shown), `opacity ${opacity}, ${shown.join(",")}`).toBeLessThan(0.1);
      }
    }
  });

  it("keeps a strongly negative cell blue and apart from the background", () => {
    for (const opacity of [0.5, 0.6, 0.8, 1]) {
      for (const under of background) {
        const negative = sourceOver(under, strongest, 1, opacity);
        const empty = sourceOver(under, zero, SENSITIVITY_ALPHA_FLOOR, opacity);
        expect(distance(negative, empty)).toBeGreaterThan(50);
        expect(negative[2] - negative[0]).toBeGreaterThan(40);
      }
    }
  });
});
