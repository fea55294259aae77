// The predicted-class legend: which classes the model predicts across the positions, how often,
// sorted by count. Each entry is a button that highlights its cells on the map.
import { css } from "./colormap";
import { h } from "./dom";
import { classColor } from "./scales";
import { basePrediction, labelOf } from "./selectors";
import type { Snapshot } from "./sync";

export interface LegendEntry {
  cls: number;
  count: number;
  /** Share of the computed positions, 0..100. */
  percent: number;
}

export interface LegendSummary {
  entries: LegendEntry[];
  /** Positions computed so far (not-computed ones, -1, are left out of the percentages). */
  computed: number;
  total: number;
}

/** Count the predicted class topk[..., 0] over positions; most frequent first, ties by index. */
export function computeLegend(
  topkIndices: ArrayLike<number>,
  cells: number,
  k: number,
): LegendSummary {
  const counts = new Map<number, number>();
  let computed = 0;
  for (let i = 0; i < cells; i++) {
    const cls = topkIndices[i * k] ?? -1;
    if (cls < 0) continue;
    computed++;
    counts.set(cls, (counts.get(cls) ?? 0) + 1);
  }
  const entries = [...counts.entries()]
    .map(([cls, count]) => ({ cls, count, percent: (100 * count) / computed }))
    .sort((a, b) => b.count - a.count || a.cls - b.cls);
  return { entries, computed, total: cells };
}

export class LegendView {
  readonly element: HTMLDivElement;
  private readonly caption = h("div", { className: "ow-legend-caption" });
  private readonly list = h("div", { className: "ow-legend-list" });
  private key = "";

  constructor(private readonly onToggle: (cls: number) => void) {
    this.element = h(
      "div",
      { className: "ow-legend", attrs: { role: "group", "aria-label": "Predicted classes" } },
      [this.caption, this.list],
    );
  }

  update(snapshot: Snapshot, highlight: number | null, visible: boolean): void {
    this.element.hidden = !visible;
    if (!visible) return;
    const { grid, topkIndices, k } = snapshot;
    const summary =
      grid === null || topkIndices === null
        ? { entries: [], computed: 0, total: grid === null ? 0 : grid.rows * grid.cols }
        : computeLegend(topkIndices, grid.rows * grid.cols, k);
    const basePredicted = basePrediction(snapshot);
    const key = JSON.stringify([summary, highlight, basePredicted, snapshot.labels.length]);
    if (key === this.key) return; // rebuilding would drop keyboard focus from the buttons
    this.key = key;
    const caption =
      summary.computed === 0
        ? "Predicted class at each position: computing…"
        : `Predicted class at each position (${summary.computed} of ${summary.total} computed)` +
          (highlight === null ? " · click a class to highlight it" : "");
    this.caption.textContent = caption;
    const focused = this.list.contains(document.activeElement)
      ? (document.activeElement as HTMLElement).dataset.class
      : undefined;
    this.list.replaceChildren(
      ...summary.entries.map((entry) => {
        const name = labelOf(snapshot, entry.cls);
        const swatch = h("span", { className: "ow-swatch", attrs: { "aria-hidden": "true" } });
        swatch.style.background = css(classColor(snapshot, entry.cls));
        const children: Node[] = [
          swatch,
          h("span", { className: "ow-legend-name", text: name }),
          h("span", {
            className: "ow-legend-count",
            text: `${entry.count} · ${entry.percent.toFixed(1)}%`,
          }),
        ];
        if (entry.cls === basePredicted) {
          children.push(
            h("span", {
              className: "ow-legend-base",
              text: "★ unoccluded",
              attrs: { title: "The prediction for the unoccluded image" },
            }),
          );
        }
        const button = h(
          "button",
          {
            className: "ow-legend-entry",
            testid: "ow-legend-entry",
            attrs: { type: "button", "aria-pressed": String(highlight === entry.cls) },
          },
          children,
        );
        button.dataset.class = String(entry.cls);
        button.classList.toggle("ow-dimmed", highlight !== null && highlight !== entry.cls);
        button.addEventListener("click", () => this.onToggle(entry.cls));
        return button;
      }),
    );
    if (focused !== undefined) {
      this.list.querySelector<HTMLElement>(`[data-class="${focused}"]`)?.focus();
    }
  }
}
