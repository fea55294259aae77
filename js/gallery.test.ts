import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RenderProps } from "@anywidget/types";
import gallery from "./gallery";
import {
  caption,
  metricsParts,
  metricsText,
  pageCount,
  pageText,
  readGallery,
  thumbnailPixels,
  type GalleryItem,
  type GalleryTraits,
} from "./gallery/state";
import { decodeArray } from "./state/codecs";
import { encode, FakeModel } from "./shared/testutil";

function item(id: string, extra: Partial<GalleryItem> = {}): GalleryItem {
  return {
    id,
    true: 0,
    predicted: 1,
    misclassified: true,
    flip_fraction: 0.25,
    flip_class: 2,
    max_drop: 0.5,
    confidence: 0.9,
    width: 2,
    height: 1,
    ...extra,
  };
}

/** Two thumbnails in 2 x 3 slots: the first 2 x 1, the second 3 x 2; pixel value = slot. */
function state(): Record<string, unknown> {
  const thumbs = new Uint8Array(2 * 2 * 3 * 4);
  thumbs.fill(1, 0, 24);
  thumbs.fill(2, 24);
  return {
    _version: "test",
    labels: ["cat", "dog", "car"],
    items: [
      item("a.png"),
      item("b.png", { true: null, misclassified: false, width: 3, height: 2 }),
    ],
    thumbnails: encode(thumbs, [2, 2, 3, 4]),
    total: 100,
    total_matching: 30,
    page: 0,
    page_size: 2,
    sort_by: "flip_fraction",
    descending: true,
    filters: { true: null, predicted: null, misclassified: false, flips_to: null },
    selected: null,
    error: "",
  };
}

function mount(model: FakeModel): { el: HTMLElement; cleanup: () => void } {
  const el = document.createElement("div");
  document.body.appendChild(el);
  const props = { model, el, experimental: {} } as unknown as RenderProps<GalleryTraits>;
  return { el, cleanup: gallery.render(props) };
}

const byTestId = <T extends HTMLElement = HTMLElement>(el: ParentNode, id: string): T => {
  const found = el.querySelector<T>(`[data-testid="${id}"]`);
  if (found === null) throw new Error(`no ${id}`);
  return found;
};

beforeEach(() => {
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
});
afterEach(() => {
  vi.restoreAllMocks();
  document.body.replaceChildren();
});

describe("gallery state", () => {
  it("cuts each thumbnail out of its slot", () => {
    const thumbs = decodeArray(state().thumbnails as never);
    const first = thumbnailPixels(thumbs, 0, 2, 1);
    expect(first?.length).toBe(8);
    expect([...(first ?? [])].every((v) => v === 1)).toBe(true);
    const second = thumbnailPixels(thumbs, 1, 3, 2);
    expect([...(second ?? [])].every((v) => v === 2)).toBe(true);
    expect(thumbnailPixels(thumbs, 2, 1, 1)).toBeNull();
    expect(thumbnailPixels(thumbs, 0, 4, 1)).toBeNull();
  });

  it("says where the page is", () => {
    const s = readGallery(new FakeModel(state()));
    expect(pageCount(30, 2)).toBe(15);
    expect(pageCount(0, 24)).toBe(1);
    expect(pageText(s)).toBe("Page 1 of 15 · 30 of 100 images");
    expect(pageText({ ...s, totalMatching: 100, page: 49 })).toBe("Page 50 of 50 · 100 images");
    expect(pageText({ ...s, totalMatching: 0 })).toBe("No image matches these filters");
  });

  it("captions mistakes as true → predicted", () => {
    const labels = ["cat", "dog"];
    expect(caption(item("x"), labels)).toBe("cat → dog");
    expect(caption(item("x", { true: 1 }), labels)).toBe("dog");
    expect(caption(item("x", { true: null }), labels)).toBe("dog");
  });

  it("splits the numbers into parts that wrap between them, all of them in the tooltip", () => {
    const it3 = item("x", { flip_fraction: 0.74, max_drop: 0.19, confidence: 0.398 });
    expect(metricsParts(it3)).toEqual(["flips 74%", "drop 0.19", "p 0.398"]);
    expect(metricsText(it3)).toBe("flips 74% · drop 0.19 · p 0.398");
  });
});

describe("gallery view", () => {
  it("shows one button per item with its id and every test hook", () => {
    const { el } = mount(new FakeModel(state()));
    const items = el.querySelectorAll<HTMLElement>('[data-testid="gallery-item"]');
    expect([...items].map((b) => b.dataset.id)).toEqual(["a.png", "b.png"]);
    expect(items[0]?.textContent).toContain("cat → dog");
    expect(items[0]?.textContent).toContain("flips 25%");
    for (const id of [
      "gallery",
      "gallery-sort",
      "gallery-filter-true",
      "gallery-filter-predicted",
      "gallery-misclassified",
      "gallery-flips-to",
      "gallery-next",
      "gallery-prev",
      "gallery-page",
    ]) {
      expect(byTestId(el, id), id).toBeTruthy();
    }
    expect(byTestId(el, "gallery-page").textContent).toBe("Page 1 of 15 · 30 of 100 images");
    expect(byTestId<HTMLButtonElement>(el, "gallery-prev").disabled).toBe(true);
    const flips = byTestId<HTMLSelectElement>(el, "gallery-flips-to");
    expect([...flips.options].map((o) => o.text)).toEqual(["any class", "cat", "dog", "car"]);
  });

  it("sets selected when an image is clicked, and marks it", () => {
    const model = new FakeModel(state());
    const { el } = mount(model);
    const items = el.querySelectorAll<HTMLElement>('[data-testid="gallery-item"]');
    items[1]?.querySelector("canvas")?.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    expect(model.state.selected).toBe("b.png");
    expect(model.saves).toBe(1);
    expect(items[1]?.getAttribute("aria-pressed")).toBe("true");
    expect(items[0]?.getAttribute("aria-pressed")).toBe("false");
  });

  it("asks for the next page, a sort and filters, back at the first page", () => {
    const model = new FakeModel(state());
    const { el } = mount(model);
    byTestId(el, "gallery-next").click();
    expect(model.state.page).toBe(1);
    expect(byTestId<HTMLButtonElement>(el, "gallery-prev").disabled).toBe(false);

    const sort = byTestId<HTMLSelectElement>(el, "gallery-sort");
    sort.value = "max_drop";
    sort.dispatchEvent(new Event("change"));
    expect(model.state.sort_by).toBe("max_drop");
    expect(model.state.page).toBe(0);

    const flips = byTestId<HTMLSelectElement>(el, "gallery-flips-to");
    flips.value = "2";
    flips.dispatchEvent(new Event("change"));
    const wrong = byTestId<HTMLInputElement>(el, "gallery-misclassified");
    wrong.checked = true;
    wrong.dispatchEvent(new Event("change"));
    expect(model.state.filters).toEqual({
      true: null,
      predicted: null,
      misclassified: true,
      flips_to: 2,
    });
    const truth = byTestId<HTMLSelectElement>(el, "gallery-filter-true");
    truth.value = "";
    truth.dispatchEvent(new Event("change"));
    expect((model.state.filters as Record<string, unknown>).true).toBeNull();
  });

  it("redraws when the kernel sends a new page, and cleans up", () => {
    const model = new FakeModel(state());
    const { el, cleanup } = mount(model);
    model.set("items", [item("c.png")]);
    const items = el.querySelectorAll<HTMLElement>('[data-testid="gallery-item"]');
    expect([...items].map((b) => b.dataset.id)).toEqual(["c.png"]);
    model.set("error", "could not open image 'c.png'");
    expect(byTestId(el, "gallery-error").hidden).toBe(false);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.querySelector('[data-testid="gallery"]')).toBeNull();
  });
});
