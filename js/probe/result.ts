// The probe's answer beside the map: the image the model saw (composed by state/compose.ts, as
// the inspector's grid cells are), the predicted class, P(target) against its reference, and the
// top-k probabilities, all labelled "probe".
import { css } from "../state/colormap";
import { composeSeen } from "../state/compose";
import { h, setText } from "../shared/dom";
import { drawSeen, dropText, ProbRow } from "../widget/inspector";
import { coveredPixels, describeRegion, type ProbeRegion } from "./region";
import type { Reply } from "../shared/requests";
import { classColor } from "../state/scales";
import { labelOf, targetLabel, targetReference } from "../state/selectors";
import type { Snapshot, SweepMode } from "../state/sync";

/** The `probe` field of a probe reply (CONTRACT2). */
export interface ProbeAnswer {
  indices: number[];
  probabilities: number[];
  targetProbability: number;
  predicted: number;
}

/** A probe reply's answer, or the reason there is none. */
export function readProbeReply(reply: Reply): ProbeAnswer | { error: string } {
  if (!reply.ok) return { error: String(reply.error ?? "the kernel could not run the probe") };
  const probe = reply.probe as Record<string, unknown> | undefined;
  const numbers = (v: unknown): number[] => (Array.isArray(v) ? v.map(Number) : []);
  if (probe === undefined || probe === null || typeof probe !== "object") {
    return { error: "the kernel's probe reply has no `probe` field" };
  }
  const indices = numbers(probe.indices);
  return {
    indices,
    probabilities: numbers(probe.probabilities),
    targetProbability: Number(probe.target_probability ?? Number.NaN),
    predicted: Number(probe.predicted ?? indices[0] ?? -1),
  };
}

export class ProbeResultView {
  readonly element: HTMLElement;
  readonly canvas = h("canvas", {
    className: "ow-probe-image",
    testid: "probe-image",
    attrs: { role: "img" },
  });
  private readonly title = h("div", { className: "ow-probe-title" });
  private readonly status = h("div", { className: "ow-probe-caption" });
  private readonly predicted = h("div", { className: "ow-probe-predicted" });
  private readonly swatch = h("span", { className: "ow-swatch", attrs: { "aria-hidden": "true" } });
  private readonly predictedName = h("strong");
  private readonly drop = h("div", { className: "ow-probe-drop" });
  private readonly probs = h("div", { className: "ow-probe-probs", attrs: { role: "list" } });
  private readonly rows: ProbRow[] = [];

  constructor() {
    this.predicted.append(h("span", { text: "Probe predicts: " }), this.swatch, this.predictedName);
    this.element = h("section", { className: "ow-probe-result", testid: "probe-result" }, [
      this.title,
      this.canvas,
      this.status,
      this.predicted,
      this.drop,
      this.probs,
    ]);
    this.element.setAttribute("aria-label", "Probe");
    this.element.hidden = true;
  }

  /** A newer region was sent: say so, keeping what is shown until its answer arrives. */
  setPending(): void {
    setText(this.status, "probing…");
  }

  hide(): void {
    this.element.hidden = true;
  }

  /**
   * Show a probe: its region composed on the image at once; the answer when it arrives (null
   * while waiting, an error when the kernel refused).
   */
  show(
    s: Snapshot,
    region: ProbeRegion,
    mode: SweepMode,
    answer: ProbeAnswer | { error: string } | null,
  ): void {
    this.element.hidden = false;
    setText(this.title, `Probe · ${describeRegion(region)}`);
    const { image, baselineImage } = s;
    if (image !== null && baselineImage !== null) {
      drawSeen(this.canvas, composeSeen(image, baselineImage, coveredPixels(region), mode), image);
    }
    this.canvas.setAttribute(
      "aria-label",
      mode === "reveal"
        ? "What the model saw (only the probed region shown)"
        : "What the model saw (the probed region filled by the baseline)",
    );
    const waiting = answer === null;
    const error = answer !== null && "error" in answer ? answer.error : "";
    setText(
      this.status,
      waiting
        ? "probing…"
        : error !== ""
          ? `probe failed: ${error}`
          : `"${s.baseline}" baseline, ${mode} mode`,
    );
    const result = answer !== null && !("error" in answer) ? answer : null;
    this.predicted.hidden = result === null;
    this.drop.hidden = result === null;
    this.probs.hidden = result === null;
    if (result === null) return;
    this.swatch.style.background = css(classColor(s, result.predicted));
    setText(this.predictedName, labelOf(s, result.predicted));
    setText(
      this.drop,
      dropText(targetLabel(s), targetReference({ ...s, mode }), result.targetProbability, mode),
    );
    while (this.rows.length < result.indices.length) {
      const row = new ProbRow("probe-row");
      this.rows.push(row);
      this.probs.append(row.element);
    }
    this.rows.forEach((row, j) => {
      const cls = result.indices[j];
      row.element.hidden = cls === undefined;
      if (cls === undefined) return;
      const p = result.probabilities[j] ?? Number.NaN;
      const base = s.base?.[cls] ?? Number.NaN;
      row.update({ cls, name: labelOf(s, cls), p, base }, true, s.targets.includes(cls));
    });
  }
}
