// The controls above the map: view, target (searchable), opacity, colour scale and exports, then
// the sweep form (sweepform.ts), the progress bar and the error box.
import { h, setText } from "../shared/dom";
import { NEEDS_PYTHON, SweepForm, type RecomputeParams, type SweepHandlers } from "./sweepform";
import {
  asColorScale,
  COLOR_SCALES,
  VIEWS,
  type ColorScaleMode,
  type Snapshot,
  type ViewName,
} from "../state/sync";
import { TargetMenu } from "./targetmenu";

export interface ControlHandlers extends Omit<SweepHandlers, "edited"> {
  view(view: ViewName): void;
  /** One class, or several whose probabilities the map sums. */
  target(classes: number[]): void;
  colorScale(mode: ColorScaleMode): void;
  /** Download the current view (and the pinned cell's inspector) as a PNG. */
  exportPng(): void;
  /** Ask the kernel for the whole widget as one HTML page and download it. */
  exportPage(): void;
  /** `commit` is false while the slider is dragged, true when it is released. */
  opacity(value: number, commit: boolean): void;
}

export type { RecomputeParams };

export const VIEW_LABELS: Record<ViewName, string> = {
  sensitivity: "Sensitivity (drop in P)",
  probability: "P(target) when occluded",
  predicted_class: "Predicted class",
};

export const SCALE_LABELS: Record<ColorScaleMode, string> = {
  auto: "Scale: auto",
  fixed: "Scale: fixed",
};

/** "done/total positions · ~Ns left" and friends. */
export function progressText(snapshot: Pick<Snapshot, "progress" | "status">): string {
  const { done, total, eta, elapsed } = snapshot.progress;
  const d = Number(done ?? 0);
  const t = Number(total ?? 0);
  const counts = t > 0 ? `${d}/${t} positions` : "";
  switch (snapshot.status) {
    case "running": {
      if (t === 0) return "computing…";
      const left =
        eta === null || eta === undefined || !Number.isFinite(eta)
          ? "estimating time left…"
          : eta < 100
            ? `~${Math.max(0, Math.ceil(eta))}s left`
            : `~${Math.ceil(eta / 60)} min left`;
      return `${counts} · ${left}`;
    }
    case "done":
      return `${counts}${counts ? " · " : ""}done${
        elapsed !== null && elapsed !== undefined && Number.isFinite(elapsed)
          ? ` in ${elapsed.toFixed(1)}s`
          : ""
      }`;
    case "cancelled":
      return `${counts}${counts ? " · " : ""}cancelled (partial map kept)`;
    case "error":
      return `${counts}${counts ? " · " : ""}stopped by an error`;
    default:
      return counts || "idle";
  }
}

function field(label: string, control: HTMLElement, className = ""): HTMLLabelElement {
  return h("label", { className: `ow-field ${className}`.trim() }, [
    h("span", { className: "ow-field-label", text: label }),
    control,
  ]);
}

export class ControlsView {
  readonly element: HTMLDivElement;
  readonly view = h("select", { testid: "ow-view" });
  readonly target: TargetMenu;
  readonly colorScale = h("select", {
    testid: "ow-color-scale",
    attrs: {
      title: "auto: the scale follows the map, never finer than ±0.05; fixed: -1..1 / 0..1",
    },
  });
  readonly opacity = h("input", {
    testid: "ow-opacity",
    attrs: { type: "range", min: "0", max: "1", step: "0.05" },
  });
  readonly exportPng = h("button", {
    className: "ow-button",
    testid: "export-png",
    text: "Export PNG",
    attrs: { type: "button", title: "Download the map as shown, with the pinned cell's details" },
  });
  readonly exportPage = h("button", {
    className: "ow-button",
    testid: "export-page",
    text: "Export page",
    attrs: {
      type: "button",
      title: "Download the widget as one HTML file that works without Python",
    },
  });
  readonly opacityValue = h("span", { className: "ow-opacity-value" });
  readonly sweep: SweepForm;
  readonly progress = h("div", {
    className: "ow-progress",
    testid: "ow-progress",
    attrs: { role: "progressbar", "aria-valuemin": "0", "aria-label": "Sweep progress" },
  });
  private readonly progressFill = h("div", { className: "ow-progress-fill" });
  private readonly progressLabel = h("span", { className: "ow-progress-text" });
  readonly error = h("div", {
    className: "ow-error",
    testid: "ow-error",
    attrs: { role: "alert" },
  });

  private last: Snapshot | null = null;
  private localError = "";

  constructor(handlers: ControlHandlers, signal: AbortSignal) {
    const opts = { signal };
    for (const view of VIEWS) {
      const option = document.createElement("option");
      option.value = view;
      option.text = VIEW_LABELS[view];
      this.view.add(option);
    }
    this.view.addEventListener("change", () => handlers.view(this.view.value as ViewName), opts);
    this.target = new TargetMenu((classes) => handlers.target(classes), signal);
    for (const scale of COLOR_SCALES) {
      const option = document.createElement("option");
      option.value = scale;
      option.text = SCALE_LABELS[scale];
      this.colorScale.add(option);
    }
    this.colorScale.setAttribute("aria-label", "Colour scale");
    this.colorScale.addEventListener(
      "change",
      () => handlers.colorScale(asColorScale(this.colorScale.value)),
      opts,
    );
    this.opacity.addEventListener(
      "input",
      () => handlers.opacity(Number(this.opacity.value), false),
      opts,
    );
    this.opacity.addEventListener(
      "change",
      () => handlers.opacity(Number(this.opacity.value), true),
      opts,
    );
    this.sweep = new SweepForm(
      {
        recompute: (params) => handlers.recompute(params),
        cancel: () => handlers.cancel(),
        edited: () => {
          // The user is fixing what the kernel refused: the refusal is no longer news.
          this.setLocalError("");
        },
      },
      signal,
    );
    this.exportPng.addEventListener("click", () => handlers.exportPng(), opts);
    this.exportPage.addEventListener("click", () => handlers.exportPage(), opts);

    this.progress.append(this.progressFill, this.progressLabel);
    const top = h("div", { className: "ow-row ow-view-row" }, [
      field("View", this.view),
      this.target.element,
      field("Opacity", this.opacity, "ow-opacity-field"),
      this.opacityValue,
      this.colorScale,
      this.exportPng,
      this.exportPage,
    ]);
    this.element = h("div", { className: "ow-controls" }, [
      top,
      this.sweep.element,
      this.progress,
      this.error,
    ]);
  }

  /**
   * A reply from the kernel that said no, shown in the error box (never as the sweep's status)
   * until the user edits the form or a later request succeeds. The typed values stay.
   */
  setLocalError(message: string): void {
    this.localError = message;
    if (message !== "") this.sweep.refused();
    this.updateError();
  }

  /** The kernel accepted a recompute: the form's edits are now the traits' business. */
  recomputeAccepted(): void {
    this.sweep.accepted();
    this.setLocalError("");
  }

  private updateError(): void {
    // The kernel may report a refusal both in its reply and in the error trait: say it once.
    const messages = [this.last?.error ?? "", this.localError].filter((m) => m !== "");
    const message = [...new Set(messages)].join("\n");
    this.error.hidden = message === "";
    setText(this.error, message);
  }

  update(s: Snapshot): void {
    this.last = s;
    if (this.view.value !== s.view) this.view.value = s.view;
    this.target.update(s);
    if (this.colorScale.value !== s.colorScale) this.colorScale.value = s.colorScale;
    if (document.activeElement !== this.opacity) this.opacity.value = String(s.opacity);
    setText(this.opacityValue, `${Math.round(s.opacity * 100)}%`);

    this.sweep.update(s);
    this.exportPage.hidden = !s.kernel;
    this.exportPage.title = s.kernel
      ? "Download the widget as one HTML file that works without Python"
      : NEEDS_PYTHON;
    const done = Number(s.progress.done ?? 0);
    const total = Number(s.progress.total ?? 0);
    this.progress.setAttribute("aria-valuemax", String(Math.max(1, total)));
    this.progress.setAttribute("aria-valuenow", String(done));
    const text = progressText(s);
    this.progress.setAttribute("aria-valuetext", text);
    this.progressFill.style.width = `${total > 0 ? (100 * done) / total : 0}%`;
    this.progress.dataset.status = s.status;
    setText(this.progressLabel, text);

    this.updateError();
  }
}
