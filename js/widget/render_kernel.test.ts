// The CONTRACT2 features of the widget: `_kernel`, Export page, Occlude/Reveal and the probe.
import type { RenderProps } from "@anywidget/types";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cellColors } from "../state/scales";
import { readSnapshot, type ModelTraits } from "../state/sync";
import { encode, FakeModel, sampleState } from "../shared/testutil";
import widget from "./render";

const cleanups: (() => void)[] = [];

function mount(model: FakeModel): HTMLElement {
  const el = document.createElement("div");
  document.body.appendChild(el);
  cleanups.push(
    widget.render({ model, el, experimental: {} } as unknown as RenderProps<ModelTraits>),
  );
  return el;
}

const nextFrame = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 40));
const byId = <T extends HTMLElement = HTMLElement>(el: ParentNode, id: string): T =>
  el.querySelector(`[data-testid="${id}"]`) as T;

beforeEach(() => {
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
});
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  vi.restoreAllMocks();
  document.body.replaceChildren();
});

describe("_kernel", () => {
  it("switches off what needs Python and says why; on by default", async () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    for (const id of ["ow-recompute", "ow-cancel", "export-page", "probe-tool"]) {
      expect(byId(el, id).hidden, id).toBe(false);
    }
    expect(byId(el, "ow-kernel-off").hidden).toBe(true);
    model.set("_kernel", false);
    await nextFrame();
    for (const id of ["ow-recompute", "ow-cancel", "export-page"]) {
      expect(byId(el, id).hidden, id).toBe(true);
    }
    expect(byId(el, "probe-tool").closest<HTMLElement>(".ow-probe-tools")?.hidden).toBe(true);
    for (const id of ["ow-patch-size", "ow-stride", "ow-baseline", "mode"]) {
      expect(byId<HTMLInputElement>(el, id).disabled, id).toBe(true);
      expect(byId(el, id).title, id).toMatch(/needs Python/);
    }
    expect(byId(el, "ow-kernel-off").hidden).toBe(false);
    expect(byId(el, "ow-kernel-off").textContent).toContain("recomputing needs Python");
  });

  it("is false on the standalone page's model, whatever the page embeds", async () => {
    const { PageModel, PAGE_FORMAT } = await import("../page/model");
    const model = new PageModel({
      format: PAGE_FORMAT,
      note: "",
      probabilities: null,
      target_maps: {},
      traits: { _kernel: true, labels: ["a"] },
    });
    expect(model.get("_kernel")).toBe(false);
  });
});

describe("Export page", () => {
  it("asks the kernel and downloads the page it sends as a text/html file", async () => {
    const created: Blob[] = [];
    const create = vi.fn((blob: Blob) => {
      created.push(blob);
      return "blob:page";
    });
    Object.assign(URL, { createObjectURL: create, revokeObjectURL: vi.fn() });
    const clicks: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      clicks.push(this.download);
    });
    const model = new FakeModel(sampleState());
    const el = mount(model);
    byId(el, "export-page").click();
    const msg = model.sent[0] as { type: string; id: string };
    expect(msg.type).toBe("export_html");
    const html = new TextEncoder().encode("<!doctype html><p>hi</p>");
    const padded = new Uint8Array(html.length + 5);
    padded.set(html, 5);
    model.receive({ type: "reply", id: msg.id, ok: true, filename: "occlusion.html", bytes: 24 }, [
      new DataView(padded.buffer, 5, html.length),
    ]);
    expect(clicks).toEqual(["occlusion.html"]);
    expect(created[0]?.type).toBe("text/html");
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsText(created[0] as Blob);
    });
    expect(text).toBe("<!doctype html><p>hi</p>");
  });

  it("shows a refusal once in the error box", async () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    byId(el, "export-page").click();
    const { id } = model.sent[0] as { id: string };
    const refusal = "export_html needs a finished sweep";
    model.receive({ type: "reply", id, ok: false, error: refusal });
    model.set("error", refusal);
    await nextFrame();
    expect(byId(el, "ow-error").textContent).toBe(refusal);
  });
});

describe("Occlude / Reveal", () => {
  it("shows the mode trait and sends a recompute with the chosen mode", async () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    const mode = byId<HTMLSelectElement>(el, "mode");
    const recompute = byId<HTMLButtonElement>(el, "ow-recompute");
    expect(mode.value).toBe("occlude");
    mode.value = "reveal";
    mode.dispatchEvent(new Event("change"));
    recompute.click();
    const msg = model.sent[0] as { type: string; params: Record<string, unknown> };
    expect(msg.type).toBe("recompute");
    expect(msg.params).toEqual({
      patch_size: [2, 3],
      stride: [2, 2],
      baseline: "gray",
      mode: "reveal",
    });
    expect(model.get("mode")).toBeNull(); // the kernel sets it when it accepts
    model.set("mode", "reveal");
    await nextFrame();
    expect(mode.value).toBe("reveal");
    // Leaving reveal mode says so; an occlude-only recompute leaves `mode` out, so a kernel from
    // before reveal mode (which refuses unknown keys) still accepts it.
    mode.value = "occlude";
    mode.dispatchEvent(new Event("change"));
    recompute.click();
    expect((model.sent[1] as { params: { mode?: string } }).params.mode).toBe("occlude");
    model.set("mode", "occlude");
    await nextFrame();
    recompute.click();
    expect((model.sent[2] as { params: object }).params).not.toHaveProperty("mode");
  });

  it("words titles and the inspector for reveal mode", async () => {
    const model = new FakeModel({ ...sampleState(), mode: "reveal", view: "probability" });
    const el = mount(model);
    expect(el.querySelector(".ow-map-title")?.textContent).toBe(
      "P(cat) with only each patch shown",
    );
    model.set("selected", [0, 0]);
    await nextFrame();
    expect(el.querySelector(".ow-inspector .ow-caption")?.textContent).toContain(
      "What the model saw (only the patch shown)",
    );
    expect(byId(el, "ow-inspector-image").getAttribute("aria-label")).toBe(
      "What the model saw (only the patch shown)",
    );
  });

  it("measures reveal sensitivity against the all-baseline probabilities", () => {
    const state = { ...sampleState(), mode: "reveal" };
    const without = cellColors(readSnapshot(new FakeModel(state)));
    expect(without.values).toBeNull(); // not sent yet: nothing is drawn as a sensitivity
    const probs = encode(new Float32Array([0.1, 0.5, 0.4]), [3]);
    const paint = cellColors(
      readSnapshot(new FakeModel({ ...state, baseline_probabilities: probs })),
    );
    expect(paint.values?.[0]).toBeCloseTo(0.5); // cell 0: P(cat) 0.6 with only the patch, 0.1 without
    expect(paint.values?.[2]).toBeCloseTo(0.2);
  });
});

describe("probe", () => {
  function drag(layer: HTMLElement, from: [number, number], to: [number, number]): void {
    vi.spyOn(layer, "getBoundingClientRect").mockReturnValue({
      left: 0,
      top: 0,
      width: 8,
      height: 5,
      right: 8,
      bottom: 5,
      x: 0,
      y: 0,
      toJSON: () => ({}),
    });
    layer.dispatchEvent(new MouseEvent("mousedown", { clientX: from[0], clientY: from[1] }));
    layer.dispatchEvent(new MouseEvent("mousemove", { clientX: to[0], clientY: to[1] }));
    window.dispatchEvent(new MouseEvent("mouseup", { clientX: to[0], clientY: to[1] }));
  }

  it("sends a dragged box, one probe at a time, and shows the answer labelled probe", async () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    const layer = el.querySelector(".ow-probe-layer") as HTMLCanvasElement;
    expect(layer.classList.contains("ow-probe-on")).toBe(false); // hovering is untouched
    byId(el, "probe-tool").click();
    expect(layer.classList.contains("ow-probe-on")).toBe(true);
    drag(layer, [1.5, 1.2], [4.2, 3.1]);
    // The move sent the region; the release, on the same box, asks nothing new.
    expect(model.sent).toHaveLength(1);
    const first = model.sent[0] as { type: string; id: string; region: unknown };
    expect(first).toMatchObject({ type: "probe", region: { box: [1, 1, 3, 4] } });
    const result = byId(el, "probe-result");
    expect(result.hidden).toBe(false);
    expect(result.textContent).toContain("probing…");
    const probe = {
      indices: [1, 0],
      probabilities: [0.8, 0.15],
      target_probability: 0.15,
      predicted: 1,
    };
    model.receive({ type: "reply", id: first.id, ok: true, probe });
    expect(model.sent).toHaveLength(1); // no stale or repeated request queued behind it
    expect(result.textContent).toContain("Probe · 4 wide × 3 tall box at x=1, y=1");
    expect(result.textContent).toContain("Probe predicts: dog");
    expect(result.textContent).toContain("P(cat): 0.700 → 0.150 (drop +0.550)");
    expect(result.querySelectorAll('[data-testid="probe-row"]')).toHaveLength(2);
    // Escape clears the probe before it unpins anything; the drag gave the map the keys.
    expect(document.activeElement).toBe(byId(el, "ow-map"));
    model.set("selected", [0, 0]);
    byId(el, "ow-map").dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    expect(result.hidden).toBe(true);
    expect(model.get("selected")).toEqual([0, 0]);
  });

  it("paints a mask with the brush and sends it as an H*W uint8 buffer", () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    byId(el, "probe-tool").click();
    byId(el, "probe-brush").click();
    expect(byId(el, "probe-radius").hidden).toBe(false);
    const layer = el.querySelector(".ow-probe-layer") as HTMLCanvasElement;
    drag(layer, [0.5, 0.5], [0.5, 0.5]);
    const msg = model.sent[0] as { type: string; region: unknown };
    expect(msg).toMatchObject({ type: "probe", region: { mask: true } });
    const buffer = model.sentBuffers[0]?.[0] as Uint8Array;
    expect(buffer).toBeInstanceOf(Uint8Array);
    expect(buffer.length).toBe(8 * 5);
    expect(buffer[0]).toBe(1);
  });

  it("shows a refused probe in its panel", () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    byId(el, "probe-tool").click();
    drag(el.querySelector(".ow-probe-layer") as HTMLElement, [1, 1], [2, 2]);
    const { id } = model.sent[0] as { id: string };
    model.receive({ type: "reply", id, ok: false, error: "the model failed" });
    expect(byId(el, "probe-result").textContent).toContain("probe failed: the model failed");
  });
});
