// The standalone page's stand-in for anywidget's model: the state embedded in the HTML file,
// decoded into the same {view, dtype, shape} objects the kernel would send, with get/set/on/off.
//
// There is no kernel, so what the kernel would answer is computed here: switching `target` sets
// `target_map` from the embedded class probabilities (or from a pre-computed map).
import type { EncodedArray } from "../state/codecs";
import { Emitter } from "../shared/emitter";
import { decodeFloat16 } from "../state/float16";

/** An array as the page embeds it (occlusion_widget/standalone.py). */
export interface PageArray {
  dtype: string;
  shape: number[];
  base64: string;
}

/** The JSON in <script type="application/json" id="ow-state">. */
export interface PageState {
  format: string;
  traits: Record<string, unknown>;
  /** float16 [rows, cols, K]: every class at every position; null in top-k mode. */
  probabilities: PageArray | null;
  /** float32 [rows, cols] maps of chosen targets, by class index (top-k mode). */
  target_maps: Record<string, PageArray>;
  /** What the page carries, said in one sentence to the reader. */
  note: string;
}

export const PAGE_FORMAT = "occlusion-widget-page/1";

function isPageArray(value: unknown): value is PageArray {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as PageArray).base64 === "string" &&
    typeof (value as PageArray).dtype === "string" &&
    Array.isArray((value as PageArray).shape)
  );
}

export function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** One embedded array as the kernel would deliver it: a DataView plus dtype and shape. */
export function toEncoded(array: PageArray): EncodedArray {
  const bytes = base64Bytes(array.base64);
  return {
    view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    dtype: array.dtype,
    shape: [...array.shape],
  };
}

/** Replace every embedded array in a JSON value (arrays may sit inside dicts, like the grid). */
export function decodeTraits(value: unknown): unknown {
  if (isPageArray(value)) return toEncoded(value);
  if (Array.isArray(value)) return value.map(decodeTraits);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = decodeTraits(v);
    return out;
  }
  return value;
}

function float32Map(data: Float32Array, shape: number[]): EncodedArray {
  return {
    view: new DataView(data.buffer, data.byteOffset, data.byteLength),
    dtype: "float32",
    shape,
  };
}

function readFloat32(array: EncodedArray | null): Float32Array | null {
  if (array === null || array.dtype !== "float32") return null;
  const view = array.view as DataView;
  const copy = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
  return new Float32Array(copy.buffer);
}

function readInt32(array: EncodedArray | null): Int32Array | null {
  if (array === null || array.dtype !== "int32") return null;
  const view = array.view as DataView;
  const copy = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
  return new Int32Array(copy.buffer);
}

/**
 * The model the widget renders from, fed by the page.
 *
 * `send` answers every request with an error reply (there is no kernel to run anything).
 */
export class PageModel extends Emitter {
  private readonly state: Record<string, unknown>;
  private readonly probabilities: Float32Array | null = null;
  private readonly classes: number = 0;
  private readonly maps = new Map<number, EncodedArray>();
  private targetChanged = false;
  readonly note: string;
  /** anywidget's widget manager; nothing here refers to other widgets. */
  readonly widget_manager = {
    get_model(): Promise<never> {
      return Promise.reject(new Error("the standalone page holds one widget and no others"));
    },
  };

  constructor(page: PageState) {
    super();
    if (page.format !== PAGE_FORMAT) {
      throw new Error(`this page's data is in format "${page.format}"; expected "${PAGE_FORMAT}"`);
    }
    this.state = decodeTraits(page.traits) as Record<string, unknown>;
    // No kernel answers here, whatever the exporter wrote: the widget switches off what needs one.
    this.state._kernel = false;
    this.note = page.note;
    if (page.probabilities !== null) {
      const shape = page.probabilities.shape;
      this.classes = shape[2] ?? 0;
      this.probabilities = decodeFloat16(base64Bytes(page.probabilities.base64));
    }
    for (const [key, map] of Object.entries(page.target_maps ?? {})) {
      this.maps.set(Number(key), toEncoded(map));
    }
  }

  get(name: string): unknown {
    return this.state[name] ?? null;
  }

  set(name: string, value: unknown): void {
    this.state[name] = value;
    if (name === "target") this.targetChanged = true;
    this.emit(`change:${name}`, this, value);
  }

  /** Where the kernel would receive the change and answer with a new `target_map`. */
  save_changes(): void {
    if (!this.targetChanged) return;
    this.targetChanged = false;
    this.set("target_map", this.mapFor(this.state.target));
  }

  send(content: unknown): void {
    const id = (content as { id?: unknown } | null)?.id;
    const reply = {
      type: "reply",
      id,
      ok: false,
      error: "this is a standalone page: recomputing needs Python (open the notebook)",
    };
    queueMicrotask(() => this.emit("msg:custom", reply, []));
  }

  /**
   * P(target) at every position: from the embedded probabilities (summed over a group when
   * `target` is a list), or the pre-computed map, or NaN everywhere ("not in this page").
   *
   * Where the target is among a cell's top-k, the exact float32 top-k value is used, so the
   * inspector's numbers match Python's; elsewhere float16 is within 0.0005 of it.
   */
  mapFor(target: unknown): EncodedArray | null {
    const grid = this.state.grid as { rows?: number; cols?: number } | null;
    const rows = Number(grid?.rows ?? 0);
    const cols = Number(grid?.cols ?? 0);
    if (rows === 0 || cols === 0) return null;
    const group = (Array.isArray(target) ? target : [target]).map(Number);
    if (group.length === 1) {
      const hit = this.maps.get(group[0] ?? -1);
      if (hit !== undefined) return hit;
    }
    const out = new Float32Array(rows * cols).fill(Number.NaN);
    const probs = this.probabilities;
    const k = this.classes;
    if (probs === null || k === 0 || group.some((c) => !(c >= 0 && c < k))) {
      return float32Map(out, [rows, cols]);
    }
    const topI = readInt32(this.state.topk_indices as EncodedArray | null);
    const topP = readFloat32(this.state.topk_probabilities as EncodedArray | null);
    const depth = topI === null ? 0 : topI.length / (rows * cols);
    for (let cell = 0; cell < rows * cols; cell++) {
      let sum = 0;
      for (const c of group) {
        let p = probs[cell * k + c] ?? Number.NaN;
        if (topI !== null && topP !== null) {
          for (let j = 0; j < depth; j++) {
            if (topI[cell * depth + j] === c) {
              p = topP[cell * depth + j] ?? p;
              break;
            }
          }
        }
        sum += p;
      }
      out[cell] = sum;
    }
    return float32Map(out, [rows, cols]);
  }
}
