import { describe, expect, it } from "vitest";
import {
  CATEGORICAL,
  DIVERGING,
  categoricalColor,
  divergingColor,
  luminance,
  niceCeil,
  normalize,
  OTHER_CLASS,
  sampleRamp,
  SEQUENTIAL,
  sequentialColor,
  symmetricRange,
  type RGB,
} from "./colormap";

const distance = (a: RGB, b: RGB): number => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

describe("diverging map", () => {
  it("is neutral (grey, light) at zero", () => {
    const [r, g, b] = divergingColor(0, 0.5);
    expect(r).toBe(g);
    expect(g).toBe(b);
    expect(r).toBeGreaterThan(200);
  });

  it("has ends of different hue: blue for negative, red for positive", () => {
    const low = divergingColor(-0.5, 0.5);
    const high = divergingColor(0.5, 0.5);
    expect(low[2]).toBeGreaterThan(low[0]);
    expect(high[0]).toBeGreaterThan(high[2]);
    expect(distance(low, high)).toBeGreaterThan(150);
  });

  it("darkens from the centre towards both ends, symmetrically enough", () => {
    const n = 20;
    for (let i = 0; i < n; i++) {
      const t0 = 0.5 + (i / n) * 0.5;
      const t1 = 0.5 + ((i + 1) / n) * 0.5;
      expect(luminance(sampleRamp(DIVERGING, t1))).toBeLessThan(
        luminance(sampleRamp(DIVERGING, t0)),
      );
      expect(luminance(sampleRamp(DIVERGING, 1 - t1))).toBeLessThan(
        luminance(sampleRamp(DIVERGING, 1 - t0)),
      );
    }
    const ends = [luminance(sampleRamp(DIVERGING, 0)), luminance(sampleRamp(DIVERGING, 1))];
    expect(Math.abs((ends[0] ?? 0) - (ends[1] ?? 0))).toBeLessThan(0.05);
  });

  it("clamps values outside the range", () => {
    expect(divergingColor(5, 0.5)).toEqual(divergingColor(0.5, 0.5));
    expect(divergingColor(-5, 0.5)).toEqual(divergingColor(-0.5, 0.5));
  });
});

describe("sequential map", () => {
  it("has strictly increasing luminance from 0 to 1", () => {
    let previous = -1;
    for (let i = 0; i <= 100; i++) {
      const l = luminance(sequentialColor(i / 100));
      expect(l).toBeGreaterThan(previous);
      previous = l;
    }
  });

  it("hits its control points exactly", () => {
    expect(sequentialColor(0)).toEqual(SEQUENTIAL[0]);
    expect(sequentialColor(1)).toEqual(SEQUENTIAL[SEQUENTIAL.length - 1]);
  });
});

describe("categorical palette", () => {
  it("has at least eight colours, pairwise clearly distinct", () => {
    expect(CATEGORICAL.length).toBeGreaterThanOrEqual(8);
    for (let i = 0; i < CATEGORICAL.length; i++) {
      for (let j = i + 1; j < CATEGORICAL.length; j++) {
        const a = CATEGORICAL[i] as RGB;
        const b = CATEGORICAL[j] as RGB;
        expect(distance(a, b), `${i} vs ${j}`).toBeGreaterThan(60);
      }
    }
  });

  it("starts with the Okabe-Ito orange and falls back to a neutral past the end", () => {
    expect(categoricalColor(0)).toEqual([0xe6, 0x9f, 0x00]);
    expect(categoricalColor(CATEGORICAL.length)).toEqual(OTHER_CLASS);
    expect(categoricalColor(-1)).toEqual(OTHER_CLASS);
  });
});

describe("normalisation", () => {
  it("maps a range onto 0..1, clamped, and degenerate ranges to the middle", () => {
    expect(normalize(5, 0, 10)).toBe(0.5);
    expect(normalize(-1, 0, 10)).toBe(0);
    expect(normalize(11, 0, 10)).toBe(1);
    expect(normalize(3, 2, 2)).toBe(0.5);
    expect(normalize(NaN, 0, 1)).toBeNaN();
  });

  it("builds a symmetric range around zero from finite values only", () => {
    expect(symmetricRange([0.1, -0.437, NaN, 0.2])).toEqual([-0.44, 0.44]);
    expect(symmetricRange([NaN, NaN])).toEqual([-0.05, 0.05]);
  });

  it("rounds magnitudes up to two significant digits", () => {
    expect(niceCeil(0.437)).toBeCloseTo(0.44);
    expect(niceCeil(0.5)).toBeCloseTo(0.5);
    expect(niceCeil(0.0123)).toBeCloseTo(0.013);
  });

  it("draws NaN as the not-computed grey", () => {
    const [r, g, b] = sampleRamp(SEQUENTIAL, NaN);
    expect(r === g && g === b).toBe(true);
  });
});

describe("the sensitivity range, as palette.symmetric_max", () => {
  it("has a floor of min_range and rounds like Python", () => {
    expect(symmetricRange([0.003, -0.001])).toEqual([-0.05, 0.05]);
    expect(symmetricRange([])).toEqual([-0.05, 0.05]);
    expect(niceCeil(0.07)).toBe(0.07); // not 0.07000000000000001
    expect(symmetricRange([0.0691])).toEqual([-0.07, 0.07]);
  });
});
