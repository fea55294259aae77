// The sweep form under the view row: patch, stride, baseline, Occlude/Reveal, with Recompute /
// Cancel. Every edit, the mode included, waits for Recompute ("changed: press Recompute"); the
// kernel validates and then sets the traits, so the form never shows a value as the map's before
// the kernel agrees. With no kernel (`_kernel` false: the standalone page) or no model (`_no_model`:
// a saved result) the form is switched off and says why.
import { h, setText } from "../shared/dom";
import type { Snapshot, SweepMode } from "../state/sync";

/** What a recompute request asks for (docs/protocol.md); the traits follow once the kernel agrees. */
export interface RecomputeParams {
  patch_size: [number, number];
  stride: [number, number];
  baseline: string;
  /** Sent when not "occlude" (or when leaving reveal mode); missing means occlude. */
  mode?: SweepMode;
}

export interface SweepHandlers {
  recompute(params: RecomputeParams): void;
  cancel(): void;
  /** The user edited the form: a refusal shown for the old values is no longer news. */
  edited(): void;
}

/** Why the sweep controls are off on a page without a kernel. */
export const NEEDS_PYTHON = "Recomputing needs Python: open the notebook to change the sweep";

/** Why the sweep can not be changed here ("" when it can): no kernel, or no model. */
export function offReason(s: Pick<Snapshot, "kernel" | "noModel">): string {
  return !s.kernel ? NEEDS_PYTHON : s.noModel;
}

const MODE_TITLE = "Occlude: hide each patch under the baseline. Reveal: show only each patch.";

export const MODE_LABELS: Record<SweepMode, string> = {
  occlude: "Occlude each patch",
  reveal: "Reveal only each patch",
};

function field(label: string, control: HTMLElement, className = ""): HTMLLabelElement {
  return h("label", { className: `ow-field ${className}`.trim() }, [
    h("span", { className: "ow-field-label", text: label }),
    control,
  ]);
}

export class SweepForm {
  readonly element: HTMLFormElement;
  readonly patch = h("input", {
    testid: "ow-patch-size",
    attrs: { type: "number", min: "1", step: "1", inputmode: "numeric" },
  });
  readonly stride = h("input", {
    testid: "ow-stride",
    attrs: { type: "number", min: "1", step: "1", inputmode: "numeric" },
  });
  readonly baseline = h("select", { testid: "ow-baseline" });
  readonly mode = h("select", {
    testid: "mode",
    attrs: { title: MODE_TITLE },
  });
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
  readonly pendingNote = h("span", { className: "ow-pending", text: "changed: press Recompute" });
  /** Says why the form is off when there is no kernel. */
  readonly kernelOff = h("span", {
    className: "ow-pending",
    testid: "ow-kernel-off",
    text: "recomputing needs Python",
  });

  private baselineKey = "";
  /** Inputs the user edited since the traits last changed; they are not overwritten. */
  private readonly dirty = new Set<HTMLElement>();
  private last: Snapshot | null = null;
  /** The form's edits were sent and the kernel has not answered yet. */
  private submitted = false;

  constructor(
    private readonly handlers: SweepHandlers,
    signal: AbortSignal,
  ) {
    const opts = { signal };
    for (const [value, text] of Object.entries(MODE_LABELS)) {
      const option = document.createElement("option");
      option.value = value;
      option.text = text;
      this.mode.add(option);
    }
    this.mode.setAttribute("aria-label", "Occlude or reveal");
    for (const input of [this.patch, this.stride, this.baseline, this.mode]) {
      const mark = (): void => {
        this.dirty.add(input);
        this.submitted = false;
        this.updatePending();
        handlers.edited();
      };
      input.addEventListener("input", mark, opts);
      input.addEventListener("change", mark, opts);
    }
    this.element = h("form", { className: "ow-row ow-sweep", attrs: { "aria-label": "Sweep" } }, [
      field("Patch", this.patch, "ow-number"),
      field("Stride", this.stride, "ow-number"),
      field("Baseline", this.baseline),
      this.mode,
      this.recompute,
      this.cancel,
      this.pendingNote,
      this.kernelOff,
    ]);
    this.element.addEventListener(
      "submit",
      (e) => {
        e.preventDefault();
        this.submit();
      },
      opts,
    );
    this.cancel.addEventListener("click", () => handlers.cancel(), opts);
  }

  private submit(): void {
    const last = this.last;
    if (last !== null && offReason(last) !== "") return;
    // An edited number input sets both sides; an untouched one keeps the trait's pair, so a
    // non-square patch set from Python survives a recompute that changes only the baseline.
    // The kernel validates: whatever was typed is sent as typed (rounded), and refused there.
    const typed = (input: HTMLInputElement, trait: [number, number]): [number, number] => {
      if (!this.dirty.has(input)) return trait;
      const v = Math.round(Number(input.value));
      return [v, v];
    };
    const chosen = <T extends string>(input: HTMLSelectElement, trait: T | undefined): T =>
      (this.dirty.has(input) ? input.value : (trait ?? input.value)) as T;
    this.submitted = this.dirty.size > 0;
    this.updatePending();
    const params: RecomputeParams = {
      patch_size: typed(this.patch, last?.patchSize ?? [16, 16]),
      stride: typed(this.stride, last?.stride ?? [8, 8]),
      baseline: chosen(this.baseline, last?.baseline),
    };
    // `mode` is optional in the protocol and a kernel from before reveal mode refuses unknown
    // keys: it goes only when it is not the default, so occlude-only recomputes work with both.
    const mode = chosen<SweepMode>(this.mode, last?.mode);
    if (mode !== "occlude" || last?.mode === "reveal") params.mode = mode;
    this.handlers.recompute(params);
  }

  /** The kernel refused: the edits are back to waiting for a Recompute. */
  refused(): void {
    if (!this.submitted) return;
    this.submitted = false;
    this.updatePending();
  }

  /** The kernel accepted a recompute: the form's edits are now the traits' business. */
  accepted(): void {
    this.submitted = false;
    this.dirty.clear();
    this.updatePending();
    if (this.last !== null) this.update(this.last);
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
    // Traits changed from elsewhere (Python, another view, a new sweep) win over stale edits.
    const traitsChanged =
      previous === null ||
      previous.patchSize.join() !== s.patchSize.join() ||
      previous.stride.join() !== s.stride.join() ||
      previous.baseline !== s.baseline ||
      previous.mode !== s.mode;
    if (traitsChanged) {
      this.dirty.clear();
      this.submitted = false;
    }
    if (!this.dirty.has(this.patch)) this.patch.value = String(s.patchSize[0]);
    if (!this.dirty.has(this.stride)) this.stride.value = String(s.stride[0]);
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
    if (!this.dirty.has(this.mode) && this.mode.value !== s.mode) this.mode.value = s.mode;
    this.updatePending();

    // A number input shows h of a [h, w] pair; its title tells a non-square one.
    const pairTitle = ([a, b]: [number, number], name: string): string =>
      a === b ? "" : `${name} is ${a}×${b} (h×w)`;
    const reason = offReason(s);
    const off = reason !== "";
    for (const input of [this.patch, this.stride, this.baseline, this.mode]) input.disabled = off;
    this.patch.title = off ? reason : pairTitle(s.patchSize, "patch");
    this.stride.title = off ? reason : pairTitle(s.stride, "stride");
    this.baseline.title = off ? reason : "";
    this.mode.title = off ? reason : MODE_TITLE;
    this.recompute.hidden = off;
    this.cancel.hidden = off;
    this.kernelOff.hidden = !off;
    setText(this.kernelOff, s.kernel ? s.noModel : "recomputing needs Python");
    if (this.kernelOff.title !== reason) this.kernelOff.title = reason;
    this.cancel.disabled = s.status !== "running";
  }
}
