import { afterEach, describe, expect, it, vi } from "vitest";
import fixture from "../fixtures/underlay.json";
import { HeatmapView, type HeatmapFrame } from "./heatmap";

/** Every pixel array the view puts on a canvas (the image, the cells), in order. */
function recordPuts(): Uint8ClampedArray[] {
  const puts: Uint8ClampedArray[] = [];
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockImplementation(function () {
    return new Proxy(
      {},
      {
        get: (_t, name) => (arg: { data: Uint8ClampedArray }) => {
          if (name === "createImageData") return { data: new Uint8ClampedArray(4 * 4 * 4) };
          if (name === "putImageData") puts.push(Uint8ClampedArray.from(arg.data));
          return null;
        },
        set: () => true,
      },
    ) as unknown as CanvasRenderingContext2D;
  } as unknown as typeof HTMLCanvasElement.prototype.getContext);
  return puts;
}

/** A 4 x 4 picture of the toy's dark blue background, under a 2 x 2 grid of 2-pixel cells. */
function frame(opacity: number): HeatmapFrame {
  const blue = fixture.background[0] ?? [0, 0, 0];
  const data = new Uint8ClampedArray(4 * 4 * 4);
  for (let i = 0; i < 16; i++) data.set([...blue, 255], 4 * i);
  return {
    image: { width: 4, height: 4, data },
    grid: {
      rows: 2,
      cols: 2,
      patch: [2, 2],
      stride: [2, 2],
      tops: Int32Array.from([0, 2]),
      lefts: Int32Array.from([0, 2]),
    },
    colors: new Uint8ClampedArray(2 * 2 * 4).fill(200),
    pending: null,
    opacity,
    hover: null,
    pinned: null,
  };
}

const isGrey = (pixels: Uint8ClampedArray) =>
  Array.from({ length: pixels.length / 4 }, (_, i) => i).every(
    (i) => pixels[4 * i] === pixels[4 * i + 1] && pixels[4 * i] === pixels[4 * i + 2],
  );

afterEach(() => vi.restoreAllMocks());

describe("HeatmapView", () => {
  it("draws the image in grey under a map, so its blue cannot pass for the map's", () => {
    const puts = recordPuts();
    new HeatmapView(
      { hover: () => {}, pin: () => {}, move: () => {}, unpin: () => {} },
      new AbortController().signal,
    ).draw(frame(0.6));
    const image = puts[0];
    expect(image).toBeDefined();
    expect(isGrey(image ?? new Uint8ClampedArray(4))).toBe(true);
    expect(image?.[0]).toBe(fixture.grey[0]); // the figures' grey (plot/_common.py underlay)
  });

  it("shows the image's own colours when the map is hidden (opacity 0)", () => {
    const puts = recordPuts();
    new HeatmapView(
      { hover: () => {}, pin: () => {}, move: () => {}, unpin: () => {} },
      new AbortController().signal,
    ).draw(frame(0));
    expect(Array.from(puts[0]?.subarray(0, 3) ?? [])).toEqual(fixture.background[0]);
  });
});
