// The predicted-class legend: which classes the model predicts across the positions, how often,
// sorted by count, then one "other classes (n)" entry for the classes past the palette's size
// (scales.ts classColorRule, the twin of palette.py ClassColors.legend). Each entry is a button
// that highlights its cells on the map.
import { css, OTHER_CLASS, type RGB } from "../state/colormap";
import { h } from "../shared/dom";
import { classColor, OTHER_HIGHLIGHT, snapshotClassRule } from "../state/scales";
import { basePrediction, labelOf } from "../state/selectors";
import type { Snapshot } from "../state/sync";

export interface LegendEntry {
  /** The class, or OTHER_HIGHLIGHT for the entry that gathers the merged classes. */
  cls: number;
  /** The classes the entry stands for: [cls], or the merged ones, most frequent first. */
  classes: number[];
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

/**
 * Count the predicted class topk[..., 0] over positions; most frequent first, ties by index. The
 * classes in `merged` become one last entry (their counts summed, in `merged`'s order).
 */
export function computeLegend(
  topkIndices: ArrayLike<number>,
  cells: number,
  k: number,
  merged: readonly number[] = [],
): LegendSummary {
  const counts = new Map<number, number>();
  let computed = 0;
  for (let i = 0; i < cells; i++) {
    const cls = topkIndices[i * k] ?? -1;
    if (cls < 0) continue;
    computed++;
    counts.set(cls, (counts.get(cls) ?? 0) + 1);
  }
  const percent = (count: number): number => (100 * count) / computed;
  const others = new Set(merged);
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const entries: LegendEntry[] = sorted
    .filter(([cls]) => !others.has(cls))
    .map(([cls, count]) => ({ cls, classes: [cls], count, percent: percent(count) }));
  // In the order given (classColorRule's: by count, then base probability, then index).
  const classes = merged.filter((cls) => counts.has(cls));
  if (classes.length > 0) {
    const count = classes.reduce((sum, cls) => sum + (counts.get(cls) ?? 0), 0);
    entries.push({ cls: OTHER_HIGHLIGHT, classes, count, percent: percent(count) });
  }
  return { entries, computed, total: cells };
}

/** The legend of the snapshot's predicted-class map, merged as its colours are. */
export function snapshotLegend(snapshot: Snapshot): LegendSummary {
  const { grid, topkIndices, k } = snapshot;
  if (grid === null || topkIndices === null) {
    return { entries: [], computed: 0, total: grid === null ? 0 : grid.rows * grid.cols };
  }
  return computeLegend(topkIndices, grid.rows * grid.cols, k, snapshotClassRule(snapshot).other);
}

/** An entry's name: the class's label, or "other classes (n)". */
export function entryName(snapshot: Pick<Snapshot, "labels">, entry: LegendEntry): string {
  return entry.cls === OTHER_HIGHLIGHT
    ? `other classes (${entry.classes.length})`
    : labelOf(snapshot, entry.cls);
}

/** An entry's swatch colour: the class's colour, or the "other" grey. */
export function entryColor(snapshot: Snapshot, entry: LegendEntry): RGB {
  return entry.cls === OTHER_HIGHLIGHT ? OTHER_CLASS : classColor(snapshot, entry.cls);
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
    const summary = snapshotLegend(snapshot);
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
        const name = entryName(snapshot, entry);
        const swatch = h("span", { className: "ow-swatch", attrs: { "aria-hidden": "true" } });
        swatch.style.background = css(entryColor(snapshot, entry));
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
        if (entry.cls === OTHER_HIGHLIGHT) {
          button.title = entry.classes.map((cls) => labelOf(snapshot, cls)).join(", ");
        }
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
