// The inspector: the occluded image exactly as the model received it, composed here from the
// image and baseline buffers (no round trip to the kernel), the top-k probabilities at that
// position beside the unoccluded ones, the predicted class and the drop in the target.
import { formatProbability, formatSigned, h, putPixels, setText } from "../shared/dom";
import { boxText, displaySize, patchBox } from "../state/geometry";
import { css } from "../state/colormap";
import { composeSeen } from "../state/compose";
import { INTERPOLATED, NEAREST, NONE } from "../state/preview";
import { classColor } from "../state/scales";
import {
  basePrediction,
  classesByBaseProbability,
  previewOf,
  labelOf,
  targetBase as targetBaseOf,
  targetLabel,
  targetReference,
} from "../state/selectors";
import type { Cell, RGBAImage, Snapshot, SweepMode } from "../state/sync";

/**
 * Draw what the model saw (`composeSeen`'s pixels) on a panel's canvas at the inspector's size,
 * pixelated when enlarged: the inspector's cells and the probe's regions look alike.
 */
export function drawSeen(
  canvas: HTMLCanvasElement,
  pixels: Uint8ClampedArray,
  image: RGBAImage,
): void {
  putPixels(canvas, pixels, image.width, image.height);
  const size = displaySize(image.width, image.height, 200, 240);
  const width = `${size.width}px`;
  if (canvas.style.width !== width) canvas.style.width = width;
  canvas.classList.toggle("ow-pixelated", size.pixelated);
}

export interface ClassRow {
  cls: number;
  name: string;
  /** Probability at the position (NaN when not computed; the unoccluded one when no position). */
  p: number;
  base: number;
}

export interface PositionDetails {
  cell: Cell | null;
  computed: boolean;
  rows: ClassRow[];
  predicted: number;
  basePredicted: number;
  targetP: number;
  targetBase: number;
  /** For a cell not computed yet: the computed cell its preview colour is estimated from. */
  estimateFrom: Cell | null;
  /**
   * For a cell not computed yet whose preview is interpolated (as method="adaptive" fills its
   * map): the corners of the block it is interpolated in, top-left and bottom-right.
   */
  interpolatedFrom: [Cell, Cell] | null;
  /** An approximate sweep filled this cell in from its neighbours: the model never saw this image. */
  interpolated: boolean;
}

/** Everything the inspector shows for a cell (or for the unoccluded image when cell is null). */
export function positionDetails(snapshot: Snapshot, cell: Cell | null): PositionDetails {
  const base = snapshot.base;
  const basePredicted = basePrediction(snapshot);
  // Occlude: the unoccluded image's P(target); reveal: the all-baseline image's.
  const targetBase = targetReference(snapshot);
  const baseOf = (cls: number): number => base?.[cls] ?? NaN;
  const { grid, topkIndices, topkProbabilities, k } = snapshot;
  if (cell !== null && grid !== null && topkIndices !== null && k > 0) {
    const offset = (cell[0] * grid.cols + cell[1]) * k;
    const rows: ClassRow[] = [];
    for (let j = 0; j < k; j++) {
      const cls = topkIndices[offset + j] ?? -1;
      if (cls < 0) continue;
      rows.push({
        cls,
        name: labelOf(snapshot, cls),
        p: topkProbabilities?.[offset + j] ?? NaN,
        base: baseOf(cls),
      });
    }
    const index = cell[0] * grid.cols + cell[1];
    const targetP = snapshot.targetMap?.[index] ?? NaN;
    const preview = rows.length > 0 ? null : previewOf(snapshot);
    const kind = preview?.kind[index] ?? NONE;
    const at = (j: number): Cell => [Math.floor(j / grid.cols), j % grid.cols];
    const from = (k: number): Cell => at(preview?.from[index * 2 + k] ?? 0);
    return {
      estimateFrom: kind === NEAREST ? from(0) : null,
      interpolatedFrom: kind === INTERPOLATED ? [from(0), from(1)] : null,
      cell,
      computed: rows.length > 0,
      interpolated: rows.length > 0 && snapshot.estimated?.[index] === 1,
      rows,
      predicted: rows[0]?.cls ?? -1,
      basePredicted,
      targetP,
      targetBase,
    };
  }
  const topK = Math.max(1, k || 5);
  const rows = classesByBaseProbability(snapshot)
    .slice(0, base === null ? 0 : topK)
    .map((cls) => ({ cls, name: labelOf(snapshot, cls), p: baseOf(cls), base: baseOf(cls) }));
  return {
    estimateFrom: null,
    interpolatedFrom: null,
    cell,
    computed: false,
    interpolated: false,
    rows,
    predicted: cell === null ? basePredicted : -1,
    basePredicted,
    targetP: cell === null ? targetBase : NaN,
    targetBase,
  };
}

/**
 * "P(t): 0.900 → 0.300 (drop +0.600)"; in reveal mode the reference is the all-baseline image
 * and the change is a gain: "P(t): baseline 0.100 → 0.300 with only the patch (gain +0.200)".
 */
export function dropText(name: string, reference: number, p: number, mode: SweepMode): string {
  const [from, to] = [formatProbability(reference), formatProbability(p)];
  return mode === "reveal"
    ? `P(${name}): baseline ${from} → ${to} with only the patch (gain ${formatSigned(p - reference)})`
    : `P(${name}): ${from} → ${to} (drop ${formatSigned(reference - p)})`;
}

/** One probability row; its elements are kept and updated in place while hovering. */
export class ProbRow {
  readonly element: HTMLDivElement;
  private readonly name = h("span", { className: "ow-prob-name" });
  private readonly value = h("span", { className: "ow-prob-value" });
  private readonly occluded = h("div", { className: "ow-bar-fill" });
  private readonly base = h("div", { className: "ow-bar-fill" });
  private readonly baseBar: HTMLDivElement;

  constructor(testid = "ow-prob-row") {
    const bar = (className: string, fill: HTMLDivElement): HTMLDivElement =>
      h("div", { className: `ow-bar ${className}`, attrs: { "aria-hidden": "true" } }, [fill]);
    this.baseBar = bar("ow-bar-base", this.base);
    this.element = h("div", { className: "ow-prob-row", testid, attrs: { role: "listitem" } }, [
      this.name,
      h("div", { className: "ow-bars" }, [bar("ow-bar-occluded", this.occluded), this.baseBar]),
      this.value,
    ]);
  }

  update(row: ClassRow, shown: boolean, isTarget: boolean): void {
    const width = (p: number): string =>
      `${Number.isFinite(p) ? Math.max(0, Math.min(1, p)) * 100 : 0}%`;
    setText(this.name, row.name);
    if (this.name.title !== row.name) this.name.title = row.name;
    setText(
      this.value,
      shown
        ? `${formatProbability(row.p)} (unoccluded ${formatProbability(row.base)})`
        : formatProbability(row.p),
    );
    this.occluded.style.width = width(row.p);
    this.base.style.width = width(row.base);
    this.baseBar.hidden = !shown;
    this.element.classList.toggle("ow-is-target", isTarget);
    this.element.dataset.class = String(row.cls);
  }
}

export class InspectorView {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly title = h("div", { className: "ow-inspector-title" });
  private readonly caption = h("div", { className: "ow-caption" });
  private readonly predicted = h("div", {
    className: "ow-predicted",
    testid: "ow-predicted-class",
  });
  private readonly predictedLabel = h("span");
  private readonly swatch = h("span", { className: "ow-swatch", attrs: { "aria-hidden": "true" } });
  private readonly predictedName = h("strong");
  private readonly changedNote = h("span", { className: "ow-changed-note" });
  private readonly drop = h("div", { className: "ow-drop" });
  private readonly probs = h("div", { className: "ow-probs", attrs: { role: "list" } });
  private readonly legendKey = h("div", { className: "ow-probs-key" });
  private readonly occludedKey = h("span", { className: "ow-key ow-key-occluded" });
  private readonly rows: ProbRow[] = [];
  private drawn: unknown[] = [];

  constructor() {
    this.canvas = h("canvas", {
      className: "ow-inspector-image",
      testid: "ow-inspector-image",
      attrs: { role: "img" },
    });
    this.legendKey.append(
      this.occludedKey,
      h("span", { className: "ow-key ow-key-base", text: "unoccluded" }),
    );
    this.predicted.append(this.predictedLabel, this.swatch, this.predictedName, this.changedNote);
    this.element = h(
      "section",
      { className: "ow-inspector", attrs: { "aria-label": "Inspector" } },
      [
        this.title,
        this.canvas,
        this.caption,
        this.predicted,
        this.drop,
        this.legendKey,
        this.probs,
      ],
    );
  }

  /** The top-k rows as text, for the exported PNG. */
  rowTexts(): string[] {
    return this.rows
      .filter((row) => !row.element.hidden)
      .map((row) => row.element.textContent ?? "");
  }

  update(snapshot: Snapshot, cell: Cell | null, pinned: boolean): void {
    const { image, baselineImage, grid } = snapshot;
    const details = positionDetails(snapshot, cell);
    const targetName = targetLabel(snapshot);

    // The image only changes with the cell and the buffers; avoid recomposing on every frame.
    const reveal = snapshot.mode === "reveal";
    const drawn = [image, baselineImage, grid, cell?.[0], cell?.[1], reveal];
    if (image !== null && drawn.some((v, i) => v !== this.drawn[i])) {
      this.drawn = drawn;
      const box = cell !== null && grid !== null ? patchBox(grid, cell) : null;
      const pixels =
        box !== null && baselineImage !== null
          ? composeSeen(image, baselineImage, box, snapshot.mode)
          : image.data;
      drawSeen(this.canvas, pixels, image);
      this.canvas.setAttribute(
        "aria-label",
        box === null
          ? "The unoccluded image"
          : reveal
            ? "What the model saw (only the patch shown)"
            : "The occluded image the model received",
      );
    }

    if (cell === null || grid === null) {
      setText(this.title, "Unoccluded image");
      setText(
        this.caption,
        "Hover over the map to see what the model saw at each position; click to pin one.",
      );
    } else {
      const box = patchBox(grid, cell);
      setText(this.title, `Row ${cell[0]}, column ${cell[1]}${pinned ? " · pinned" : ""}`);
      const where = boxText(box, "patch");
      setText(
        this.caption,
        (reveal
          ? `What the model saw (only the patch shown): the ${where} on the ` +
            `"${snapshot.baseline}" baseline`
          : `As fed to the model: ${where} replaced by the "${snapshot.baseline}" baseline`) +
          (baselineImage === null ? " (baseline image not available)" : ""),
      );
    }

    // A position never computed: the sweep was stopped, or has not got there yet.
    const missing =
      snapshot.status === "cancelled" ? "not computed (cancelled)" : "not computed yet";
    const span = details.interpolatedFrom;
    const estimate =
      span !== null
        ? ` · map shows an estimate interpolated from cells (${span[0].join(", ")}) to ` +
          `(${span[1].join(", ")})`
        : details.estimateFrom === null
          ? ""
          : ` · map shows an estimate from cell (${details.estimateFrom.join(", ")})`;

    // Predicted class, marked when the occluder changed it.
    const changed =
      details.computed && details.basePredicted >= 0 && details.predicted !== details.basePredicted;
    this.predicted.classList.toggle("ow-changed", changed);
    const named = (cell === null || details.computed) && details.predicted >= 0;
    this.swatch.hidden = !named;
    if (cell !== null && !details.computed) {
      setText(this.predictedLabel, `Predicted: ${missing}${estimate}`);
    } else if (named) {
      // Short, so the panel keeps its height while the pointer moves; the title says more.
      setText(
        this.predictedLabel,
        details.interpolated ? "Predicted (interpolated): " : "Predicted: ",
      );
      this.swatch.style.background = css(classColor(snapshot, details.predicted));
    } else {
      setText(this.predictedLabel, "Predicted: computing…");
    }
    setText(this.predictedName, named ? labelOf(snapshot, details.predicted) : "");
    const why = details.interpolated
      ? "An approximate sweep (method='approximate') filled this cell's values in from the " +
        "computed cells around it: the model was not run on this image"
      : "";
    if (this.predicted.title !== why) this.predicted.title = why;
    setText(
      this.changedNote,
      changed ? ` ≠ unoccluded ${labelOf(snapshot, details.basePredicted)}` : "",
    );

    if (cell === null) {
      const unoccluded = `P(${targetName}) = ${formatProbability(targetBaseOf(snapshot))} unoccluded`;
      setText(
        this.drop,
        reveal
          ? `${unoccluded}, ${formatProbability(details.targetBase)} on the baseline`
          : unoccluded,
      );
    } else if (Number.isFinite(details.targetP)) {
      setText(this.drop, dropText(targetName, details.targetBase, details.targetP, snapshot.mode));
    } else {
      setText(this.drop, `P(${targetName}): ${missing} at this position`);
    }
    this.drop.classList.toggle("ow-drop-up", details.targetBase - details.targetP < 0);

    setText(this.occludedKey, reveal ? "patch only" : "occluded");
    this.legendKey.hidden = cell === null || !details.computed;
    const shown = cell !== null && details.computed;
    while (this.rows.length < details.rows.length) {
      const row = new ProbRow();
      this.rows.push(row);
      this.probs.append(row.element);
    }
    this.rows.forEach((row, j) => {
      const data = details.rows[j];
      row.element.hidden = data === undefined;
      if (data !== undefined) row.update(data, shown, snapshot.targets.includes(data.cls));
    });
  }
}
