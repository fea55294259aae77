// The gallery's DOM: the sort and filter bar, one page of thumbnails, the pager. It draws a
// snapshot and reports what the person asks for; it never talks to the model itself.
import { h, putPixels, setText } from "../shared/dom";
import {
  caption,
  className,
  itemTitle,
  metricsParts,
  metricsText,
  pageCount,
  pageText,
  SORT_OPTIONS,
  thumbnailPixels,
  type FilterName,
  type GallerySnapshot,
  type SortKey,
} from "./state";

export interface GalleryActions {
  sort(by: SortKey): void;
  descending(value: boolean): void;
  filter(name: FilterName, value: number | boolean | null): void;
  page(page: number): void;
  open(id: string): void;
}

function field(label: string, control: HTMLElement): HTMLElement {
  return h("label", { className: "ow-field" }, [
    h("span", { className: "ow-field-label", text: label }),
    control,
  ]);
}

/** A class menu: "any" (value "") then every class by name. */
function classSelect(testid: string, anyText: string): HTMLSelectElement {
  const select = h("select", { testid });
  select.append(h("option", { text: anyText, attrs: { value: "" } }));
  return select;
}

function fillClasses(select: HTMLSelectElement, labels: readonly string[], anyText: string): void {
  const options = [h("option", { text: anyText, attrs: { value: "" } })];
  labels.forEach((_, cls) => {
    options.push(h("option", { text: className(labels, cls), attrs: { value: String(cls) } }));
  });
  select.replaceChildren(...options);
}

export class GalleryView {
  readonly element: HTMLElement;
  private readonly sort = h("select", { testid: "gallery-sort" });
  private readonly order = h("button", {
    className: "ow-gallery-step",
    testid: "gallery-descending",
    attrs: { type: "button" },
  });
  private readonly filterTrue = classSelect("gallery-filter-true", "any");
  private readonly filterPredicted = classSelect("gallery-filter-predicted", "any");
  private readonly flipsTo = classSelect("gallery-flips-to", "any class");
  private readonly misclassified = h("input", {
    testid: "gallery-misclassified",
    attrs: { type: "checkbox" },
  });
  private readonly grid = h("div", {
    className: "ow-gallery-grid",
    attrs: { role: "list", "aria-label": "images" },
  });
  private readonly pageLabel = h("span", {
    testid: "gallery-page",
    attrs: { "aria-live": "polite" },
  });
  private readonly prev = h("button", {
    className: "ow-gallery-step",
    text: "‹ Previous",
    testid: "gallery-prev",
    attrs: { type: "button" },
  });
  private readonly next = h("button", {
    className: "ow-gallery-step",
    text: "Next ›",
    testid: "gallery-next",
    attrs: { type: "button" },
  });
  private readonly error = h("div", {
    className: "ow-gallery-error",
    testid: "gallery-error",
    attrs: { role: "alert" },
  });
  private labels: readonly string[] | null = null;
  private drawn: { items: unknown; thumbnails: unknown; labels: unknown } | null = null;
  private last: GallerySnapshot | null = null;

  constructor(actions: GalleryActions, signal: AbortSignal) {
    for (const [value, text] of SORT_OPTIONS) {
      this.sort.append(h("option", { text, attrs: { value } }));
    }
    const on = <E extends Event>(el: HTMLElement, type: string, fn: (e: E) => void): void =>
      el.addEventListener(type, fn as EventListener, { signal });
    const classValue = (select: HTMLSelectElement): number | null =>
      select.value === "" ? null : Number(select.value);

    on(this.sort, "change", () => actions.sort(this.sort.value as SortKey));
    on(this.order, "click", () => actions.descending(!(this.last?.descending ?? true)));
    on(this.filterTrue, "change", () => actions.filter("true", classValue(this.filterTrue)));
    on(this.filterPredicted, "change", () =>
      actions.filter("predicted", classValue(this.filterPredicted)),
    );
    on(this.flipsTo, "change", () => actions.filter("flips_to", classValue(this.flipsTo)));
    on(this.misclassified, "change", () =>
      actions.filter("misclassified", this.misclassified.checked),
    );
    on(this.prev, "click", () => actions.page(Math.max(0, (this.last?.page ?? 0) - 1)));
    on(this.next, "click", () => actions.page((this.last?.page ?? 0) + 1));
    on(this.grid, "click", (event: MouseEvent) => {
      const target = event.target instanceof Element ? event.target : null;
      const button = target?.closest<HTMLElement>('[data-testid="gallery-item"]');
      const id = button?.dataset.id;
      if (id !== undefined) actions.open(id);
    });

    const bar = h("div", { className: "ow-gallery-bar" }, [
      field("Sort by", this.sort),
      this.order,
      field("True class", this.filterTrue),
      field("Predicted", this.filterPredicted),
      field("Flips to", this.flipsTo),
      h("label", { className: "ow-field" }, [
        this.misclassified,
        h("span", { className: "ow-field-label", text: "misclassified only" }),
      ]),
    ]);
    const pager = h("div", { className: "ow-gallery-pager" }, [
      this.prev,
      this.pageLabel,
      this.next,
    ]);
    this.element = h("div", { className: "ow-gallery-body" }, [bar, this.error, this.grid, pager]);
  }

  update(s: GallerySnapshot): void {
    this.last = s;
    if (this.labels !== s.labels) {
      this.labels = s.labels;
      fillClasses(this.filterTrue, s.labels, "any");
      fillClasses(this.filterPredicted, s.labels, "any");
      fillClasses(this.flipsTo, s.labels, "any class");
    }
    this.sort.value = s.sortBy;
    setText(this.order, s.descending ? "↓ largest first" : "↑ smallest first");
    this.order.setAttribute("aria-pressed", String(s.descending));
    const show = (v: number | null): string => (v === null ? "" : String(v));
    this.filterTrue.value = show(s.filters.true);
    this.filterPredicted.value = show(s.filters.predicted);
    this.flipsTo.value = show(s.filters.flips_to);
    this.misclassified.checked = s.filters.misclassified;
    setText(this.pageLabel, pageText(s));
    this.prev.disabled = s.page <= 0;
    this.next.disabled = s.page + 1 >= pageCount(s.totalMatching, s.pageSize);
    setText(this.error, s.error);
    this.error.hidden = s.error === "";
    const d = this.drawn;
    if (
      d === null ||
      d.items !== s.items ||
      d.thumbnails !== s.thumbnails ||
      d.labels !== s.labels
    ) {
      this.drawn = { items: s.items, thumbnails: s.thumbnails, labels: s.labels };
      this.drawItems(s);
    }
    for (const button of this.grid.querySelectorAll<HTMLElement>('[data-testid="gallery-item"]')) {
      button.setAttribute("aria-pressed", String(button.dataset.id === s.selected));
    }
  }

  private drawItems(s: GallerySnapshot): void {
    if (s.items.length === 0) {
      this.grid.replaceChildren(h("div", { className: "ow-gallery-empty", text: pageText(s) }));
      return;
    }
    const buttons = s.items.map((item, i) => {
      const canvas = h("canvas", {
        attrs: { width: String(item.width), height: String(item.height) },
      });
      const pixels = thumbnailPixels(s.thumbnails, i, item.width, item.height);
      if (pixels !== null) putPixels(canvas, pixels, item.width, item.height);
      const button = h(
        "button",
        {
          className: item.misclassified ? "ow-gallery-item ow-wrong" : "ow-gallery-item",
          testid: "gallery-item",
          attrs: { type: "button", role: "listitem", title: itemTitle(item, s.labels) },
        },
        [
          canvas,
          h("span", { className: "ow-gallery-caption", text: caption(item, s.labels) }),
          // The parts wrap between them, so the card's width holds them (the tooltip has all).
          h(
            "span",
            { className: "ow-gallery-metrics", attrs: { title: metricsText(item) } },
            metricsParts(item).map((text) => h("span", { text })),
          ),
        ],
      );
      button.dataset.id = item.id;
      return button;
    });
    this.grid.replaceChildren(...buttons);
  }
}
