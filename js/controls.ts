// The controls above the map: view, target (searchable), opacity, and the sweep parameters with
// Recompute / Cancel, the progress bar and the error box.
import { h, setText } from "./dom";
import type { ColorScaleMode, Snapshot, ViewName } from "./sync";
import { TargetMenu } from "./targetmenu";

export interface ControlHandlers {
  view(view: ViewName): void;
  /** One class, or several whose probabilities the map sums. */
  target(classes: number[]): void;
  colorScale(mode: ColorScaleMode): void;
  /** Download the current view (and the pinned cell's inspector) as a PNG. */
  exportPng(): void;
  /** `commit` is false while the slider is dragged, true when it is released. */
  opacity(value: number, commit: boolean): void;
  /** The sweep parameters in the form (the traits where the user changed nothing). */
  recompute(params: RecomputeParams): void;
  cancel(): void;
}

/** What a recompute request asks for (docs/protocol.md); the traits follow once the kernel agrees. */
export interface RecomputeParams {
  patch_size: [number, number];
  stride: [number, number];
  baseline: string;
}

export const VIEW_LABELS: Record<ViewName, string> = {
  sensitivity: "Sensitivity (drop in P)",
  probability: "P(target) when occluded",
  predicted_class: "Predicted class",
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

/** A number input sets both sides of a [h, w] pair; it shows h (the title tells a non-square). */
function pairText([h]: [number, number]): string {
  return String(h);
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
  readonly opacityValue = h("span", { className: "ow-opacity-value" });
  readonly patch = h("input", {
    testid: "ow-patch-size",
    attrs: { type: "number", min: "1", step: "1", inputmode: "numeric" },
  });
  readonly stride = h("input", {
    testid: "ow-stride",
    attrs: { type: "number", min: "1", step: "1", inputmode: "numeric" },
  });
  readonly baseline = h("select", { testid: "ow-baseline" });
  readonly recompute = h("button", {
    className: "ow-button ow-primary",
    testid: "ow-recompute",
    text: "Recompute",
    attrs: { type: "submit" },
  });
  readonly cancel = h("button", {
    className: "ow-button",
    testid: "ow-cancel",
    text: "Cancel",
    attrs: { type: "button" },
  });
  readonly progress = h("div", {
    className: "ow-progress",
    testid: "ow-progress",
    attrs: { role: "progressbar", "aria-valuemin": "0", "aria-label": "Sweep progress" },
  });
  private readonly progressFill = h("div", { className: "ow-progress-fill" });
  private readonly progressLabel = h("span", { className: "ow-progress-text" });
  readonly pendingNote = h("span", { className: "ow-pending", text: "changed: press Recompute" });
  readonly error = h("div", {
    className: "ow-error",
    testid: "ow-error",
    attrs: { role: "alert" },
  });

  private baselineKey = "";
  /** Inputs the user edited since the traits last changed; they are not overwritten. */
  private readonly dirty = new Set<HTMLElement>();
  private last: Snapshot | null = null;
  private localError = "";
  /** The form's edits were sent and the kernel has not answered yet. */
  private submitted = false;

  constructor(handlers: ControlHandlers, signal: AbortSignal) {
    const opts = { signal };
    for (const [value, text] of Object.entries(VIEW_LABELS)) {
      const option = document.createElement("option");
      option.value = value;
      option.text = text;
      this.view.add(option);
    }
    this.view.addEventListener("change", () => handlers.view(this.view.value as ViewName), opts);
    this.target = new TargetMenu((classes) => handlers.target(classes), signal);
    for (const [value, text] of [
      ["auto", "Scale: auto"],
      ["fixed", "Scale: fixed"],
    ] as const) {
      const option = document.createElement("option");
      option.value = value;
      option.text = text;
      this.colorScale.add(option);
    }
    this.colorScale.setAttribute("aria-label", "Colour scale");
    this.colorScale.addEventListener(
      "change",
      () => handlers.colorScale(this.colorScale.value === "fixed" ? "fixed" : "auto"),
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
    for (const input of [this.patch, this.stride, this.baseline]) {
      const mark = (): void => {
        this.dirty.add(input);
        this.submitted = false;
        this.updatePending();
        // The user is fixing what the kernel refused: the refusal is no longer news.
        this.setLocalError("");
      };
      input.addEventListener("input", mark, opts);
      input.addEventListener("change", mark, opts);
    }
    const form = h("form", { className: "ow-row ow-sweep", attrs: { "aria-label": "Sweep" } }, [
      field("Patch", this.patch, "ow-number"),
      field("Stride", this.stride, "ow-number"),
      field("Baseline", this.baseline),
      this.recompute,
      this.cancel,
      this.pendingNote,
    ]);
    form.addEventListener(
      "submit",
      (e) => {
        e.preventDefault();
        const last = this.last;
        // An edited number input sets both sides; an untouched one keeps the trait's pair, so a
        // non-square patch set from Python survives a recompute that changes only the baseline.
        // The kernel validates: whatever was typed is sent as typed (rounded), and refused there.
        const typed = (input: HTMLInputElement, trait: [number, number]): [number, number] => {
          if (!this.dirty.has(input)) return trait;
          const v = Math.round(Number(input.value));
          return [v, v];
        };
        this.submitted = this.dirty.size > 0;
        this.updatePending();
        handlers.recompute({
          patch_size: typed(this.patch, last?.patchSize ?? [16, 16]),
          stride: typed(this.stride, last?.stride ?? [8, 8]),
          baseline: this.dirty.has(this.baseline)
            ? this.baseline.value
            : (last?.baseline ?? this.baseline.value),
        });
      },
      opts,
    );
    this.cancel.addEventListener("click", () => handlers.cancel(), opts);
    this.exportPng.addEventListener("click", () => handlers.exportPng(), opts);

    this.progress.append(this.progressFill, this.progressLabel);
    const top = h("div", { className: "ow-row ow-view-row" }, [
      field("View", this.view),
      this.target.element,
      field("Opacity", this.opacity, "ow-opacity-field"),
      this.opacityValue,
      this.colorScale,
      this.exportPng,
    ]);
    this.element = h("div", { className: "ow-controls" }, [top, form, this.progress, this.error]);
  }

  /**
   * A reply from the kernel that said no, shown in the error box (never as the sweep's status)
   * until the user edits the form or a later request succeeds. The typed values stay.
   */
  setLocalError(message: string): void {
    this.localError = message;
    if (message !== "" && this.submitted) {
      this.submitted = false; // refused: the edits are back to waiting for a Recompute
      this.updatePending();
    }
    this.updateError();
  }

  /** The kernel accepted a recompute: the form's edits are now the traits' business. */
  recomputeAccepted(): void {
    this.submitted = false;
    this.dirty.clear();
    this.updatePending();
    this.setLocalError("");
    if (this.last !== null) this.update(this.last);
  }

  private updateError(): void {
    // The kernel may report a refusal both in its reply and in the error trait: say it once.
    const messages = [this.last?.error ?? "", this.localError].filter((m) => m !== "");
    const message = [...new Set(messages)].join("\n");
    this.error.hidden = message === "";
    setText(this.error, message);
  }

  private updatePending(): void {
    this.pendingNote.hidden = this.dirty.size === 0;
    setText(
      this.pendingNote,
      this.submitted ? "sent: waiting for the kernel…" : "changed: press Recompute",
    );
    this.recompute.classList.toggle("ow-attention", this.dirty.size > 0);
  }

  update(s: Snapshot): void {
    const previous = this.last;
    this.last = s;
    if (this.view.value !== s.view) this.view.value = s.view;
    this.target.update(s);
    if (this.colorScale.value !== s.colorScale) this.colorScale.value = s.colorScale;
    if (document.activeElement !== this.opacity) this.opacity.value = String(s.opacity);
    setText(this.opacityValue, `${Math.round(s.opacity * 100)}%`);

    // Traits changed from elsewhere (Python, another view, a new sweep) win over stale edits.
    const traitsChanged =
      previous === null ||
      previous.patchSize.join() !== s.patchSize.join() ||
      previous.stride.join() !== s.stride.join() ||
      previous.baseline !== s.baseline;
    if (traitsChanged) {
      this.dirty.clear();
      this.submitted = false;
    }
    if (!this.dirty.has(this.patch)) this.patch.value = pairText(s.patchSize);
    if (!this.dirty.has(this.stride)) this.stride.value = pairText(s.stride);
    this.patch.title =
      s.patchSize[0] === s.patchSize[1] ? "" : `patch is ${s.patchSize[0]}×${s.patchSize[1]} (h×w)`;
    this.stride.title =
      s.stride[0] === s.stride[1] ? "" : `stride is ${s.stride[0]}×${s.stride[1]} (h×w)`;
    const names = s.baselineOptions.includes(s.baseline)
      ? s.baselineOptions
      : [...s.baselineOptions, s.baseline];
    const baselineKey = JSON.stringify(names);
    if (baselineKey !== this.baselineKey) {
      this.baselineKey = baselineKey;
      this.baseline.replaceChildren(
        ...names.map((name) => {
          const option = document.createElement("option");
          option.value = name;
          option.text = name;
          return option;
        }),
      );
      this.baseline.value = s.baseline;
    }
    if (!this.dirty.has(this.baseline) && this.baseline.value !== s.baseline) {
      this.baseline.value = s.baseline;
    }
    this.updatePending();

    const running = s.status === "running";
    this.cancel.disabled = !running;
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
