import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RenderProps } from "@anywidget/types";
import { decodeArray } from "../state/codecs";
import { PAGE_FORMAT, PageModel, type PageArray, type PageState } from "./model";
import type { ModelTraits } from "../state/sync";
import widget from "../widget/render";

function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function arr(
  data: Int32Array | Float32Array | Uint8Array | Uint16Array,
  dtype: string,
  shape: number[],
): PageArray {
  return {
    dtype,
    shape,
    base64: b64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
  };
}

// float16 bit patterns: 0.25 = 0x3400, 0.5 = 0x3800, 0.125 = 0x3000, 0.75 = 0x3a00, 0 = 0
const H = { 0: 0x0000, 0.125: 0x3000, 0.25: 0x3400, 0.5: 0x3800, 0.75: 0x3a00 } as const;

/** A 1 x 2 grid over a 4 x 2 image, three classes. Cell 0: [0.5, 0.25, 0.25], cell 1: [0.125, 0.75, 0.125]. */
function page(overrides: Partial<PageState> = {}): PageState {
  const probs = new Uint16Array([H[0.5], H[0.25], H[0.25], H[0.125], H[0.75], H[0.125]]);
  return {
    format: PAGE_FORMAT,
    note: "All class probabilities are in this page.",
    probabilities: arr(probs, "float16", [1, 2, 3]),
    target_maps: {},
    traits: {
      _version: "test",
      image: arr(new Uint8Array(4 * 2 * 4).fill(100), "uint8", [2, 4, 4]),
      baseline_image: arr(new Uint8Array(4 * 2 * 4).fill(128), "uint8", [2, 4, 4]),
      grid: {
        rows: 1,
        cols: 2,
        patch: [2, 2],
        stride: [2, 2],
        tops: arr(new Int32Array([0]), "int32", [1]),
        lefts: arr(new Int32Array([0, 2]), "int32", [2]),
      },
      labels: ["cat", "dog", "car"],
      base_probabilities: arr(new Float32Array([0.6, 0.3, 0.1]), "float32", [3]),
      // Top-1 only, in float32: cell 0's cat is 0.5000001 (float16 cannot say so), cell 1's dog.
      topk_indices: arr(new Int32Array([0, 1]), "int32", [1, 2, 1]),
      topk_probabilities: arr(new Float32Array([0.5000001, 0.75]), "float32", [1, 2, 1]),
      target_map: arr(new Float32Array([0.5000001, 0.125]), "float32", [1, 2]),
      target: 0,
      view: "sensitivity",
      selected: null,
      status: "done",
      error: "",
    },
    ...overrides,
  };
}

function mapOf(model: PageModel): number[] {
  const decoded = decodeArray(model.get("target_map") as never);
  return Array.from(decoded?.data ?? []);
}

describe("PageModel", () => {
  it("decodes the embedded arrays, including those nested in the grid", () => {
    const model = new PageModel(page());
    const tops = decodeArray((model.get("grid") as { tops: never }).tops);
    expect(Array.from(tops?.data ?? [])).toEqual([0]);
    expect(Array.from(decodeArray(model.get("base_probabilities") as never)?.data ?? [])).toEqual(
      [0.6, 0.3, 0.1].map(Math.fround),
    );
    expect(model.get("missing")).toBeNull();
  });

  it("answers a target change the way the kernel would: a new target_map", () => {
    const model = new PageModel(page());
    const seen: string[] = [];
    model.on("change:target_map", () => seen.push("map"));
    model.set("target", 1);
    expect(seen).toEqual([]); // as with anywidget, nothing reaches the 'kernel' before saving
    model.save_changes();
    expect(seen).toEqual(["map"]);
    // Cell 1 has dog in its top-k: the exact float32 value; cell 0 from float16.
    expect(mapOf(model)).toEqual([0.25, 0.75]);
    model.set("target", 0);
    model.save_changes();
    expect(mapOf(model)).toEqual([Math.fround(0.5000001), 0.125]);
  });

  it("sums a group of targets", () => {
    const model = new PageModel(page());
    model.set("target", [1, 2]);
    model.save_changes();
    expect(mapOf(model)).toEqual([0.5, 0.875]);
  });

  it("in top-k mode uses the embedded maps and shows other targets as not computed", () => {
    const map = arr(new Float32Array([0.3, 0.7]), "float32", [1, 2]);
    const model = new PageModel(page({ probabilities: null, target_maps: { "1": map } }));
    model.set("target", 1);
    model.save_changes();
    expect(mapOf(model)).toEqual([0.3, 0.7].map(Math.fround));
    model.set("target", 2);
    model.save_changes();
    expect(mapOf(model).every(Number.isNaN)).toBe(true);
  });

  it("answers every request to the kernel with a reply that says why it cannot", async () => {
    const model = new PageModel(page());
    const replies: unknown[] = [];
    model.on("msg:custom", (msg) => replies.push(msg));
    model.send({ type: "recompute", id: "v-1" });
    await Promise.resolve();
    expect(replies).toEqual([
      expect.objectContaining({
        type: "reply",
        id: "v-1",
        ok: false,
        error: expect.stringMatching(/needs Python/),
      }),
    ]);
  });

  it("refuses data of another format", () => {
    expect(() => new PageModel(page({ format: "something-else/9" }))).toThrow(
      /expected "occlusion-widget-page\/1"/,
    );
  });
});

describe("the widget on a PageModel", () => {
  beforeEach(() => {
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    document.body.replaceChildren();
  });

  it("switches the target from the dropdown with no kernel", async () => {
    const model = new PageModel(page());
    const el = document.createElement("div");
    document.body.appendChild(el);
    const props = { model, el, experimental: {} } as unknown as RenderProps<ModelTraits>;
    const cleanup = widget.render(props);
    const select = el.querySelector<HTMLSelectElement>('[data-testid="ow-target"]');
    expect(select).not.toBeNull();
    select!.value = "1";
    select!.dispatchEvent(new Event("change"));
    expect(model.get("target")).toBe(1);
    expect(mapOf(model)).toEqual([0.25, 0.75]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    // The map title names the new target, and no "loading the map" badge waits for a kernel.
    expect(el.querySelector(".ow-map-title")?.textContent).toContain("P(dog)");
    expect(el.textContent).not.toContain("loading the map");
    cleanup();
  });
});
