import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import widget, { version } from "./render";
import { FakeModel, sampleState } from "../shared/testutil";
import type { RenderProps } from "@anywidget/types";
import type { ModelTraits } from "../state/sync";

function mount(model: FakeModel): { el: HTMLElement; cleanup: () => void } {
  const el = document.createElement("div");
  document.body.appendChild(el);
  const props = { model, el, experimental: {} } as unknown as RenderProps<ModelTraits>;
  const cleanup = widget.render(props);
  return { el, cleanup };
}

const nextFrame = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 40));
const byTestId = (el: ParentNode, id: string): HTMLElement | null =>
  el.querySelector(`[data-testid="${id}"]`);

beforeEach(() => {
  // jsdom has no 2D context; the widget must cope with getContext returning null.
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
});
afterEach(() => {
  vi.restoreAllMocks();
  document.body.replaceChildren();
});

describe("render", () => {
  it("exports the package version", () => {
    expect(typeof version).toBe("string");
    expect(version.length).toBeGreaterThan(0);
  });

  it("creates every test hook", () => {
    const { el } = mount(new FakeModel(sampleState()));
    for (const id of [
      "ow-map",
      "ow-view",
      "ow-target",
      "ow-opacity",
      "ow-patch-size",
      "ow-stride",
      "ow-baseline",
      "ow-recompute",
      "ow-cancel",
      "ow-inspector-image",
      "ow-predicted-class",
      "ow-progress",
      "ow-error",
    ]) {
      expect(byTestId(el, id), id).not.toBeNull();
    }
    expect(el.querySelectorAll('[data-testid="ow-prob-row"]').length).toBeGreaterThan(0);
    const view = byTestId(el, "ow-view") as HTMLSelectElement;
    expect(Array.from(view.options, (o) => o.value)).toEqual([
      "sensitivity",
      "probability",
      "predicted_class",
    ]);
    const progress = byTestId(el, "ow-progress") as HTMLElement;
    expect(progress.getAttribute("role")).toBe("progressbar");
    expect(progress.getAttribute("aria-valuenow")).toBe("8");
    expect(progress.textContent).toContain("8/12 positions");
    expect((byTestId(el, "ow-error") as HTMLElement).hidden).toBe(true);
    expect((byTestId(el, "ow-cancel") as HTMLButtonElement).disabled).toBe(false);
    const inspector = byTestId(el, "ow-inspector-image") as HTMLCanvasElement;
    expect([inspector.width, inspector.height]).toEqual([8, 5]);
  });

  it("does not throw when every trait is null and says it is computing", () => {
    const { el } = mount(new FakeModel({}));
    expect(byTestId(el, "ow-map")).not.toBeNull();
    expect(el.textContent).toContain("waiting for the image");
  });

  it("sends a target change to the model and orders targets by probability", async () => {
    const model = new FakeModel(sampleState());
    const { el } = mount(model);
    const target = byTestId(el, "ow-target") as HTMLSelectElement;
    expect(Array.from(target.options, (o) => o.value)).toEqual(["0", "1", "2"]);
    expect(target.options[0]?.text).toBe("cat — 0.700");
    target.value = "1";
    target.dispatchEvent(new Event("change"));
    expect(model.get("target")).toBe(1);
    expect(model.saves).toBeGreaterThan(0);
    await nextFrame();
    expect(target.value).toBe("1");
    // The old map is for "cat": until the kernel answers, "dog" shows as loading.
    expect(el.textContent).toContain("loading the map for dog");
    model.set("target_map", sampleState().target_map);
    await nextFrame();
    expect(el.textContent).not.toContain("loading the map");
  });

  it("searches classes in the list without resizing the Target menu", () => {
    const model = new FakeModel(sampleState());
    const { el } = mount(model);
    const search = byTestId(el, "ow-target-search") as HTMLInputElement;
    const target = byTestId(el, "ow-target") as HTMLSelectElement;
    const before = Array.from(target.options, (o) => o.value);
    search.value = "ca";
    search.dispatchEvent(new Event("input"));
    const list = byTestId(el, "ow-target-list") as HTMLElement;
    const shown = Array.from(
      list.querySelectorAll<HTMLElement>(".ow-target-row:not([hidden])"),
      (r) => r.dataset.class,
    );
    expect(shown).toEqual(["0", "2"]);
    // The dropdown is untouched by typing, so its width cannot change.
    expect(Array.from(target.options, (o) => o.value)).toEqual(before);
  });

  it("recompute sends the form's parameters with an id and leaves the traits to the kernel", () => {
    const model = new FakeModel(sampleState());
    const { el } = mount(model);
    const patch = byTestId(el, "ow-patch-size") as HTMLInputElement;
    expect(patch.value).toBe("2");
    patch.value = "4";
    patch.dispatchEvent(new Event("input"));
    (byTestId(el, "ow-recompute") as HTMLButtonElement).click();
    // The kernel validates and sets the traits; the browser only asks.
    expect(model.get("patch_size")).toEqual([2, 3]);
    expect(model.sent).toHaveLength(1);
    const msg = model.sent[0] as { type: string; id: string; params: unknown };
    expect(msg.type).toBe("recompute");
    expect(typeof msg.id).toBe("string");
    // The untouched stride keeps the trait's pair; the edited patch sets both sides.
    expect(msg.params).toEqual({ patch_size: [4, 4], stride: [2, 2], baseline: "gray" });
    (byTestId(el, "ow-cancel") as HTMLButtonElement).click();
    expect((model.sent[1] as { type: string }).type).toBe("cancel");
  });

  it("shows a refused recompute once, keeps the typed values and leaves the status alone", async () => {
    const model = new FakeModel(sampleState());
    const { el } = mount(model);
    const box = byTestId(el, "ow-error") as HTMLElement;
    const progress = byTestId(el, "ow-progress") as HTMLElement;
    const statusBefore = progress.textContent;
    const patch = byTestId(el, "ow-patch-size") as HTMLInputElement;
    patch.value = "500";
    patch.dispatchEvent(new Event("input"));
    (byTestId(el, "ow-recompute") as HTMLButtonElement).click();
    const { id } = model.sent[0] as { id: string };
    const refusal = "patch_size (500, 500) is larger than the 5 x 8 image; use at most (5, 8)";
    // The kernel may also put the message in the error trait: it must still read once.
    model.receive({ type: "reply", id, ok: false, error: refusal });
    model.set("error", refusal);
    await nextFrame();
    expect(box.hidden).toBe(false);
    expect(box.textContent).toBe(refusal);
    expect(progress.textContent).toBe(statusBefore);
    expect(patch.value).toBe("500"); // the user fixes what they typed
    expect(model.get("patch_size")).toEqual([2, 3]);
    // Editing clears the local refusal at once.
    model.set("error", "");
    await nextFrame();
    expect(box.textContent).toBe(refusal); // the trait is gone, the refusal still stands
    patch.value = "4";
    patch.dispatchEvent(new Event("input"));
    expect(box.hidden).toBe(true);
    // A refusal then a success: the success clears it.
    (byTestId(el, "ow-recompute") as HTMLButtonElement).click();
    const second = (model.sent[1] as { id: string }).id;
    model.receive({ type: "reply", id: second, ok: false, error: "no" });
    expect(box.textContent).toBe("no");
    (byTestId(el, "ow-recompute") as HTMLButtonElement).click();
    const third = (model.sent[2] as { id: string }).id;
    model.receive({ type: "reply", id: third, ok: true });
    await nextFrame();
    expect(box.hidden).toBe(true);
  });

  it("pins with the keyboard and unpins with Escape", () => {
    const model = new FakeModel(sampleState());
    const { el } = mount(model);
    const map = byTestId(el, "ow-map") as HTMLCanvasElement;
    expect(map.tabIndex).toBe(0);
    model.set("selected", [1, 1]);
    map.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight" }));
    expect(model.get("selected")).toEqual([1, 2]);
    map.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown" }));
    map.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown" }));
    expect(model.get("selected")).toEqual([2, 2]); // clamped to the last row
    map.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    expect(model.get("selected")).toBeNull();
  });

  it("shows a selection set from Python in the inspector", async () => {
    const model = new FakeModel(sampleState());
    const { el } = mount(model);
    model.set("selected", [0, 2]);
    await nextFrame();
    expect(el.textContent).toContain("Row 0, column 2");
    expect(byTestId(el, "ow-predicted-class")?.textContent).toContain("dog");
  });

  it("keeps two views in sync and removes every listener on cleanup", async () => {
    const model = new FakeModel(sampleState());
    const a = mount(model);
    const b = mount(model);
    const viewA = byTestId(a.el, "ow-view") as HTMLSelectElement;
    viewA.value = "predicted_class";
    viewA.dispatchEvent(new Event("change"));
    await nextFrame();
    expect((byTestId(b.el, "ow-view") as HTMLSelectElement).value).toBe("predicted_class");
    expect(b.el.querySelectorAll('[data-testid="ow-legend-entry"]').length).toBe(2);
    a.cleanup();
    b.cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(a.el.childElementCount).toBe(0);
  });
});

describe("issue 11 behaviour", () => {
  it("shows the kernel's note above the map and sends the colour-scale toggle", async () => {
    const model = new FakeModel(sampleState());
    const { el } = mount(model);
    const note = byTestId(el, "note") as HTMLElement;
    expect(note.hidden).toBe(true);
    model.set("note", "No 2×3 patch changes P(cat) by more than 0.001");
    await nextFrame();
    expect(note.hidden).toBe(false);
    expect(note.textContent).toBe("No 2×3 patch changes P(cat) by more than 0.001");
    const scale = byTestId(el, "ow-color-scale") as HTMLSelectElement;
    expect(scale.value).toBe("auto");
    scale.value = "fixed";
    scale.dispatchEvent(new Event("change"));
    expect(model.get("color_scale")).toBe("fixed");
  });

  it("sends a group of targets as a list and names the map after the group", async () => {
    const model = new FakeModel(sampleState());
    const { el } = mount(model);
    const search = byTestId(el, "ow-target-search") as HTMLInputElement;
    search.dispatchEvent(new Event("focus"));
    const row = el.querySelector<HTMLElement>('.ow-target-row[data-class="1"]');
    row?.dispatchEvent(new MouseEvent("mousedown", { bubbles: true, shiftKey: true }));
    expect(model.get("target")).toEqual([0, 1]);
    model.set("target_map", sampleState().target_map); // the kernel's summed map
    await nextFrame();
    expect(el.querySelector(".ow-map-title")?.textContent).toContain("P(cat + dog)");
  });

  it("says a position was not computed because the sweep was cancelled", async () => {
    const model = new FakeModel({ ...sampleState(), status: "cancelled" });
    const { el } = mount(model);
    model.set("selected", [2, 3]);
    await nextFrame();
    expect(el.textContent).toContain("not computed (cancelled)");
    expect(el.textContent).not.toContain("not computed yet");
    expect(byTestId(el, "ow-predicted-class")?.textContent).toContain("estimate from cell (1, 2)");
  });

  it("hides the colour bar until there is data", () => {
    const empty = {
      ...sampleState(),
      target_map: null,
      topk_indices: null,
      topk_probabilities: null,
    };
    const { el } = mount(new FakeModel(empty));
    expect((byTestId(el, "ow-colorbar") as HTMLElement).hidden).toBe(true);
    expect(el.textContent).not.toContain("0.010");
  });

  it("keeps the map column's width and a one-line title whatever the view", async () => {
    const model = new FakeModel(sampleState());
    const { el } = mount(model);
    const left = el.querySelector(".ow-left") as HTMLElement;
    const title = el.querySelector(".ow-map-title") as HTMLElement;
    const width = left.style.width;
    expect(width).toMatch(/px$/);
    expect(title.title).toBe(title.textContent);
    model.set("view", "predicted_class");
    await nextFrame();
    expect(left.style.width).toBe(width);
    expect(title.title).toBe(title.textContent);
  });

  it("hovering keeps the inspector's row elements and repaints only the hover overlay", async () => {
    const calls = new Map<HTMLCanvasElement, string[]>();
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockImplementation(function (
      this: HTMLCanvasElement,
    ) {
      const log = calls.get(this) ?? [];
      calls.set(this, log);
      const record = (name: string) => (): unknown => {
        log.push(name);
        return name === "createImageData" ? { data: new Uint8ClampedArray(1 << 12) } : null;
      };
      return new Proxy(
        {},
        {
          get: (_t, name) => record(String(name)),
          set: () => true,
        },
      ) as unknown as CanvasRenderingContext2D;
    } as unknown as typeof HTMLCanvasElement.prototype.getContext);
    const model = new FakeModel({ ...sampleState(), status: "done" });
    const { el } = mount(model);
    const map = byTestId(el, "ow-map") as HTMLCanvasElement;
    vi.spyOn(map, "getBoundingClientRect").mockReturnValue({
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
    map.dispatchEvent(new MouseEvent("mousemove", { clientX: 0.5, clientY: 0.5 }));
    await nextFrame();
    const rows = Array.from(el.querySelectorAll('[data-testid="ow-prob-row"]'));
    expect(rows.length).toBeGreaterThan(0);
    const baseDraws = (calls.get(map) ?? []).filter((c) => c === "drawImage").length;
    map.dispatchEvent(new MouseEvent("mousemove", { clientX: 5.2, clientY: 0.5 }));
    await nextFrame();
    expect(el.querySelector(".ow-inspector-title")?.textContent).toBe("Row 0, column 2");
    const after = Array.from(el.querySelectorAll('[data-testid="ow-prob-row"]'));
    expect(after[0]).toBe(rows[0]); // the same elements, new text
    expect(after[0]?.textContent).toContain("dog");
    expect((calls.get(map) ?? []).filter((c) => c === "drawImage").length).toBe(baseDraws);
    const hover = el.querySelector(".ow-map-hover") as HTMLCanvasElement;
    expect(calls.get(hover)).toContain("strokeRect");
  });

  it("exports the view as a PNG, with the inspector when a cell is pinned", async () => {
    const { exportLayout } = await import("./export_png");
    const source = document.createElement("canvas");
    const parts = {
      title: "Where occlusion lowers P(cat)",
      note: "",
      map: { source, width: 320, height: 200 },
      colorbar: null,
      legend: [],
      inspector: null,
    };
    const plain = exportLayout(parts);
    const pinned = exportLayout({
      ...parts,
      inspector: { source, width: 8, height: 5, title: "Row 0, column 2 · pinned", lines: ["dog"] },
    });
    const texts = (l: typeof plain) => l.items.flatMap((i) => (i.kind === "text" ? [i.text] : []));
    expect(texts(plain)).toEqual(["Where occlusion lowers P(cat)"]);
    expect(texts(pinned)).toContain("Row 0, column 2 · pinned");
    expect(pinned.items.filter((i) => i.kind === "image")).toHaveLength(2);
    expect(pinned.width).toBeGreaterThan(plain.width);

    const model = new FakeModel(sampleState());
    const { el } = mount(model);
    const button = byTestId(el, "export-png") as HTMLButtonElement;
    expect(button).not.toBeNull();
    button.click(); // no 2D canvas in jsdom: it says so instead of failing silently
    await nextFrame();
    expect(byTestId(el, "ow-error")?.textContent).toContain("could not draw the PNG");
  });
});
