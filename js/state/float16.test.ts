import { describe, expect, it } from "vitest";
import { decodeFloat16, halfToFloat } from "./float16";

describe("float16", () => {
  it("decodes the special and boundary values", () => {
    expect(halfToFloat(0x0000)).toBe(0);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(halfToFloat(0x7bff)).toBe(65504); // the largest finite half
    expect(halfToFloat(0x0001)).toBe(2 ** -24); // the smallest subnormal
    expect(halfToFloat(0x0400)).toBe(2 ** -14); // the smallest normal
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it("reads little-endian bytes at an odd offset (as base64 slices can be)", () => {
    // 1.0 = 0x3c00, 0.5 = 0x3800, NaN = 0x7e00, 0.0999755859375 = 0x2e66
    const buffer = new Uint8Array([0xff, 0x00, 0x3c, 0x00, 0x38, 0x00, 0x7e, 0x66, 0x2e]);
    const out = decodeFloat16(buffer.subarray(1));
    expect(out.length).toBe(4);
    expect(out[0]).toBe(1);
    expect(out[1]).toBe(0.5);
    expect(out[2]).toBeNaN();
    expect(out[3]).toBeCloseTo(0.0999755859375, 12);
  });

  it("refuses an odd byte count", () => {
    expect(() => decodeFloat16(new Uint8Array(3))).toThrow(/even number of bytes; got 3/);
  });
});
