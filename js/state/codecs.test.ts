import { describe, expect, it } from "vitest";
import { decodeArray } from "./codecs";

describe("decodeArray", () => {
  it("decodes float32 from a DataView that starts at a non-zero byteOffset", () => {
    const backing = new ArrayBuffer(4 + 3 * 4);
    const values = new Float32Array(backing, 4, 3);
    values.set([1.5, -2, 3.25]);
    const decoded = decodeArray({
      view: new DataView(backing, 4, 12),
      dtype: "float32",
      shape: [3],
    });
    expect(decoded?.data).toBeInstanceOf(Float32Array);
    expect(Array.from(decoded?.data ?? [])).toEqual([1.5, -2, 3.25]);
    expect(decoded?.shape).toEqual([3]);
  });

  it("copies when the offset is not aligned to the element size", () => {
    const backing = new ArrayBuffer(1 + 2 * 4);
    const bytes = new Uint8Array(backing);
    const scratch = new Int32Array([7, -9]);
    bytes.set(new Uint8Array(scratch.buffer), 1);
    const decoded = decodeArray({ view: new DataView(backing, 1, 8), dtype: "int32", shape: [2] });
    expect(Array.from(decoded?.data ?? [])).toEqual([7, -9]);
  });

  it("keeps uint8 image bytes and their shape", () => {
    const pixels = new Uint8Array([0, 1, 2, 255, 10, 20, 30, 255]);
    const decoded = decodeArray({
      view: new DataView(pixels.buffer),
      dtype: "uint8",
      shape: [1, 2, 4],
    });
    expect(Array.from(decoded?.data ?? [])).toEqual([0, 1, 2, 255, 10, 20, 30, 255]);
    expect(decoded?.shape).toEqual([1, 2, 4]);
  });

  it("rejects a buffer whose length does not match the shape", () => {
    const view = new DataView(new ArrayBuffer(8));
    expect(() => decodeArray({ view, dtype: "float32", shape: [3] })).toThrow(/does not hold/);
  });

  it("rejects an unknown dtype", () => {
    const view = new DataView(new ArrayBuffer(8));
    expect(() => decodeArray({ view, dtype: "complex64", shape: [1] })).toThrow(
      /unsupported dtype/,
    );
  });

  it("passes null through", () => {
    expect(decodeArray(null)).toBeNull();
  });
});
