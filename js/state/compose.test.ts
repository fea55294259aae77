import { describe, expect, it } from "vitest";
import { composeSeen } from "./compose";

function image(width: number, height: number, fill: (x: number, y: number) => number[]) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(fill(x, y), (y * width + x) * 4);
  }
  return { width, height, data };
}

const picture = image(5, 3, (x, y) => [x, y, 7, 255]);
const baseline = image(5, 3, (x, y) => [100 + x, 100 + y, 200, 255]);
const red = (px: Uint8ClampedArray) => Array.from({ length: 15 }, (_, i) => px[i * 4]);

describe("composeSeen", () => {
  it("occlude: copies the baseline's pixels into the box and keeps the rest", () => {
    const out = composeSeen(picture, baseline, { top: 1, left: 2, height: 2, width: 2 }, "occlude");
    const expected = image(5, 3, (x, y) =>
      y >= 1 && y < 3 && x >= 2 && x < 4 ? [100 + x, 100 + y, 200, 255] : [x, y, 7, 255],
    );
    expect(Array.from(out)).toEqual(Array.from(expected.data));
  });

  it("reveal: the baseline everywhere but the box, which shows the image", () => {
    const out = composeSeen(picture, baseline, { top: 0, left: 1, height: 1, width: 2 }, "reveal");
    expect(red(out)).toEqual([
      100, 1, 2, 103, 104, 100, 101, 102, 103, 104, 100, 101, 102, 103, 104,
    ]);
  });

  it("clips a box that runs off the image and leaves the inputs alone", () => {
    const before = Array.from(picture.data);
    const out = composeSeen(picture, baseline, { top: 2, left: 4, height: 5, width: 5 }, "occlude");
    expect(Array.from(out.subarray((2 * 5 + 4) * 4, (2 * 5 + 5) * 4))).toEqual([
      104, 102, 200, 255,
    ]);
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 0, 7, 255]);
    expect(Array.from(picture.data)).toEqual(before);
  });

  it("takes a painted mask pixel by pixel, in either mode", () => {
    const mask = new Uint8Array(15);
    mask[0] = 1;
    mask[14] = 1;
    const region = { mask, width: 5, height: 3 };
    expect(red(composeSeen(picture, baseline, region, "occlude"))).toEqual([
      100, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 104,
    ]);
    expect(red(composeSeen(picture, baseline, region, "reveal"))).toEqual([
      0, 101, 102, 103, 104, 100, 101, 102, 103, 104, 100, 101, 102, 103, 4,
    ]);
  });

  it("a mask covering a box composes what the box does (one composition for cells and probes)", () => {
    const box = { top: 1, left: 1, height: 2, width: 3 };
    const mask = new Uint8Array(15);
    for (let y = 1; y < 3; y++) for (let x = 1; x < 4; x++) mask[y * 5 + x] = 1;
    for (const mode of ["occlude", "reveal"] as const) {
      expect(
        Array.from(composeSeen(picture, baseline, { mask, width: 5, height: 3 }, mode)),
      ).toEqual(Array.from(composeSeen(picture, baseline, box, mode)));
    }
  });

  it("shows the image unchanged when the baseline or the mask is not the image's size", () => {
    const small = image(2, 2, () => [9, 9, 9, 255]);
    const box = { top: 0, left: 0, height: 2, width: 2 };
    expect(Array.from(composeSeen(picture, small, box, "reveal"))).toEqual(
      Array.from(picture.data),
    );
    const mask = { mask: new Uint8Array(4).fill(1), width: 2, height: 2 };
    expect(Array.from(composeSeen(picture, baseline, mask, "occlude"))).toEqual(
      Array.from(picture.data),
    );
  });
});
