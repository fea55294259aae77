// The widget keeps its word (issue 18): no control that can only fail, one behaviour for every
// sweep control, a probe panel that never stays on "probing…", a pin that says how to undo it.
import type { RenderProps } from "@anywidget/types";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ModelTraits } from "../state/sync";
import { FakeModel, sampleState } from "../shared/testutil";
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
const sentTypes = (model: FakeModel): string[] =>
  model.sent.map((m) => (m as { type: string }).type);

beforeEach(() => {
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
});
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  vi.restoreAllMocks();
  document.body.replaceChildren();
});

describe("a widget without a model", () => {
  const reason = "no model to run: this shows a saved result (pass model= to recompute or probe)";

  it("switches Recompute and Probe off and says why in one visible line", async () => {
    const model = new FakeModel({ ...sampleState(), _no_model: reason });
    const el = mount(model);
    await nextFrame();
    expect(byId(el, "ow-recompute").hidden).toBe(true);
    expect(byId<HTMLButtonElement>(el, "probe-tool").disabled).toBe(true);
    expect(byId(el, "probe-tool").title).toBe(reason);
    for (const id of ["ow-patch-size", "ow-stride", "ow-baseline", "mode"]) {
      expect(byId<HTMLInputElement>(el, id).disabled, id).toBe(true);
    }
    const line = byId(el, "ow-kernel-off");
    expect(line.hidden).toBe(false);
    expect(line.textContent).toBe(reason);
    // Hovering, pinning and the target still work: they need no model.
    expect(byId<HTMLSelectElement>(el, "ow-target").disabled).toBe(false);
    // Submitting the form anyway (Enter in a field) sends nothing.
    byId(el, "ow-patch-size").closest("form")?.requestSubmit();
    expect(sentTypes(model)).not.toContain("recompute");
  });

  it("turns them back on when the model is known", async () => {
    const model = new FakeModel({ ...sampleState(), _no_model: reason });
    const el = mount(model);
    model.set("_no_model", "");
    await nextFrame();
    expect(byId(el, "ow-recompute").hidden).toBe(false);
    expect(byId<HTMLButtonElement>(el, "probe-tool").disabled).toBe(false);
    expect(byId(el, "ow-kernel-off").hidden).toBe(true);
  });

  it("names what it shows in a caption line, hidden when there is none", async () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    expect(byId(el, "ow-caption").hidden).toBe(true);
    model.set("caption", "image 3 · true cat · predicted dog (p 0.610)");
    await nextFrame();
    expect(byId(el, "ow-caption").hidden).toBe(false);
    expect(byId(el, "ow-caption").textContent).toBe("image 3 · true cat · predicted dog (p 0.610)");
  });
});

describe("every sweep control waits for Recompute", () => {
  it.each([
    ["mode", "reveal"],
    ["ow-baseline", "black"],
    ["ow-patch-size", "4"],
    ["ow-stride", "1"],
  ])("changing %s says 'changed: press Recompute' and sends nothing", async (id, value) => {
    const model = new FakeModel({ ...sampleState(), baseline_options: ["gray", "black"] });
    const el = mount(model);
    await nextFrame();
    const control = byId<HTMLInputElement | HTMLSelectElement>(el, id);
    control.value = value;
    control.dispatchEvent(new Event("input"));
    control.dispatchEvent(new Event("change"));
    await nextFrame();
    expect(model.sent).toHaveLength(0);
    const pending = el.querySelector<HTMLElement>(".ow-pending:not([data-testid])");
    expect(pending?.hidden).toBe(false);
    expect(pending?.textContent).toBe("changed: press Recompute");
    byId(el, "ow-recompute").click();
    expect(sentTypes(model)).toEqual(["recompute"]);
  });

  it("applies every staged change in one Recompute", () => {
    const model = new FakeModel({ ...sampleState(), baseline_options: ["gray", "black"] });
    const el = mount(model);
    const set = (id: string, value: string): void => {
      const control = byId<HTMLInputElement | HTMLSelectElement>(el, id);
      control.value = value;
      control.dispatchEvent(new Event("change"));
    };
    set("mode", "reveal");
    set("ow-baseline", "black");
    set("ow-stride", "1");
    byId(el, "ow-recompute").click();
    expect(model.sent).toHaveLength(1);
    expect((model.sent[0] as { params: unknown }).params).toEqual({
      patch_size: [2, 3],
      stride: [1, 1],
      baseline: "black",
      mode: "reveal",
    });
  });
});

describe("probe panel", () => {
  function layerOf(el: HTMLElement): HTMLCanvasElement {
    const layer = el.querySelector(".ow-probe-layer") as HTMLCanvasElement;
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
    return layer;
  }
  const mouse = (type: string, [x, y]: [number, number]): MouseEvent =>
    new MouseEvent(type, { clientX: x, clientY: y });
  const answer = {
    indices: [1, 0],
    probabilities: [0.8, 0.15],
    target_probability: 0.15,
    predicted: 1,
  };
  const status = (el: HTMLElement): string =>
    byId(el, "probe-result").querySelector(".ow-probe-caption")?.textContent ?? "";

  it("never stays on 'probing…' when the release comes after the drag's answer", () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    byId(el, "probe-tool").click();
    const layer = layerOf(el);
    for (let drag = 0; drag < 6; drag++) {
      const to: [number, number] = [3.2 + (drag % 3), 2.1 + (drag % 2)];
      layer.dispatchEvent(mouse("mousedown", [1.5, 1.2]));
      layer.dispatchEvent(mouse("mousemove", to));
      const { id } = model.sent[model.sent.length - 1] as { id: string };
      model.receive({ type: "reply", id, ok: true, probe: answer });
      expect(status(el)).toBe('"gray" baseline, occlude mode');
      // The release on the box the drag already asked about: nothing new to wait for.
      window.dispatchEvent(mouse("mouseup", to));
      expect(status(el), `drag ${drag}`).toBe('"gray" baseline, occlude mode');
    }
  });

  it("says 'probing…' under an older answer only while a newer region is on its way", () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    byId(el, "probe-tool").click();
    const layer = layerOf(el);
    layer.dispatchEvent(mouse("mousedown", [1.5, 1.2]));
    layer.dispatchEvent(mouse("mousemove", [3.2, 2.1]));
    layer.dispatchEvent(mouse("mousemove", [5.2, 4.1])); // waits behind the first
    const first = model.sent[0] as { id: string };
    model.receive({ type: "reply", id: first.id, ok: true, probe: answer });
    expect(status(el)).toBe("probing…");
    window.dispatchEvent(mouse("mouseup", [5.2, 4.1]));
    expect(model.sent).toHaveLength(2);
    const second = model.sent[1] as { id: string; region: { box: number[] } };
    expect(second.region.box).toEqual([1, 1, 4, 5]);
    model.receive({ type: "reply", id: second.id, ok: true, probe: answer });
    expect(status(el)).toBe('"gray" baseline, occlude mode');
    expect(byId(el, "probe-result").textContent).toContain("5 wide × 4 tall box at x=1, y=1");
  });
});

describe("a pinned cell", () => {
  it("says it is pinned and how to unpin; the line's click unpins", async () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    const line = byId<HTMLButtonElement>(el, "ow-pin-note");
    expect(line.disabled).toBe(true);
    model.set("selected", [1, 2]); // from Python
    await nextFrame();
    expect(line.disabled).toBe(false);
    expect(line.textContent).toBe("Pinned (1, 2) · Esc or click here to unpin");
    line.click();
    expect(model.get("selected")).toBeNull();
  });

  it("unpins on Escape while the pointer is over the widget, wherever the focus is", async () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    model.set("selected", [1, 2]);
    await nextFrame();
    const root = el.firstElementChild as HTMLElement;
    const escape = (): boolean =>
      document.body.dispatchEvent(
        new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }),
      );
    escape(); // the pointer is elsewhere: Escape is someone else's
    expect(model.get("selected")).toEqual([1, 2]);
    root.dispatchEvent(new Event("pointerenter"));
    expect(escape()).toBe(false); // taken: default prevented
    expect(model.get("selected")).toBeNull();
    root.dispatchEvent(new Event("pointerleave"));
  });

  it("leaves Escape to a text field that has the focus", async () => {
    const model = new FakeModel(sampleState());
    const el = mount(model);
    model.set("selected", [1, 2]);
    await nextFrame();
    (el.firstElementChild as HTMLElement).dispatchEvent(new Event("pointerenter"));
    const search = byId<HTMLInputElement>(el, "ow-target-search");
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(model.get("selected")).toEqual([1, 2]);
  });
});
