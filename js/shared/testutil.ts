// Test helpers: a fake anywidget model and encoded arrays like the kernel sends. Not bundled.
import type { EncodedArray } from "../state/codecs";
import { Emitter } from "./emitter";

export class FakeModel extends Emitter {
  readonly state: Record<string, unknown>;
  readonly sent: unknown[] = [];
  saves = 0;

  constructor(state: Record<string, unknown>) {
    super();
    this.state = { ...state };
  }

  get(name: string): unknown {
    return this.state[name] ?? null;
  }

  set(name: string, value: unknown): void {
    this.state[name] = value;
    this.emit(`change:${name}`, this, value);
  }

  save_changes(): void {
    this.saves++;
  }

  /** The buffers sent with each message (same index as `sent`). */
  readonly sentBuffers: unknown[][] = [];

  send(content: unknown, _callbacks?: unknown, buffers?: unknown[]): void {
    this.sent.push(content);
    this.sentBuffers.push(buffers ?? []);
  }

  /** A message from the kernel, with its binary buffers. */
  receive(content: unknown, buffers: unknown[] = []): void {
    this.emit("msg:custom", content, buffers);
  }
}

/** Encode a typed array the way ipywidgets delivers it: a DataView into a larger buffer. */
export function encode(
  data: Uint8Array | Int32Array | Float32Array,
  shape: number[],
): EncodedArray {
  const dtype =
    data instanceof Uint8Array ? "uint8" : data instanceof Int32Array ? "int32" : "float32";
  const padding = 8; // a non-zero byteOffset, as in a real comm message
  const buffer = new ArrayBuffer(padding + data.byteLength);
  new Uint8Array(buffer, padding).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  return { view: new DataView(buffer, padding, data.byteLength), dtype, shape };
}

/** A small RGBA image whose pixel (x, y) is (x, y, base, 255). */
export function rampImage(width: number, height: number, base: number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([x, y, base, 255], (y * width + x) * 4);
  }
  return data;
}

/**
 * A complete widget state for an 8 x 5 (W x H) image, patch 2 x 3, stride 2: the grid's last row
 * and column are flush with the edges (tops 0, 2, 3; lefts 0, 2, 4, 5), three classes.
 */
export function sampleState(labels: string[] = ["cat", "dog", "car"]): Record<string, unknown> {
  const width = 8;
  const height = 5;
  const tops = new Int32Array([0, 2, 3]);
  const lefts = new Int32Array([0, 2, 4, 5]);
  const rows = 3;
  const cols = 4;
  const k = 2;
  const topkIndices = new Int32Array(rows * cols * k).fill(-1);
  const topkProbabilities = new Float32Array(rows * cols * k).fill(NaN);
  const targetMap = new Float32Array(rows * cols).fill(NaN);
  // Computed cells: predicted "cat" at 5 of them, "dog" at 3, the last 4 not computed.
  const predicted = [0, 0, 1, 0, 1, 0, 0, 1];
  predicted.forEach((cls, i) => {
    topkIndices[i * k] = cls;
    topkIndices[i * k + 1] = cls === 0 ? 1 : 0;
    topkProbabilities[i * k] = 0.6;
    topkProbabilities[i * k + 1] = 0.3;
    targetMap[i] = cls === 0 ? 0.6 : 0.3;
  });
  return {
    _version: "test",
    image: encode(rampImage(width, height, 10), [height, width, 4]),
    baseline_image: encode(new Uint8Array(width * height * 4).fill(200), [height, width, 4]),
    grid: {
      rows,
      cols,
      patch: [2, 3],
      stride: [2, 2],
      tops: encode(tops, [rows]),
      lefts: encode(lefts, [cols]),
    },
    labels,
    base_probabilities: encode(new Float32Array([0.7, 0.2, 0.1]), [3]),
    topk_indices: encode(topkIndices, [rows, cols, k]),
    topk_probabilities: encode(topkProbabilities, [rows, cols, k]),
    target_map: encode(targetMap, [rows, cols]),
    target: 0,
    view: "sensitivity",
    selected: null,
    opacity: 0.6,
    patch_size: [2, 3],
    stride: [2, 2],
    baseline: "gray",
    baseline_options: ["gray", "black", "mean", "blur", "noise"],
    top_k: k,
    status: "running",
    progress: { done: 8, total: 12, elapsed: 1.5, eta: 0.7 },
    error: "",
  };
}
