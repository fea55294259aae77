import type { SweepMode } from "../state/sync";
// The colour bar under the map: the ramp, value ticks and what the two ends mean.
import { cssGradient, DIVERGING, SEQUENTIAL } from "../state/colormap";
import { h, setText } from "../shared/dom";
import type { ColorScale } from "../state/scales";

export interface Tick {
  /** 0..1 along the bar. */
  at: number;
  label: string;
}

function signed(v: number, digits: number): string {
  if (Math.abs(v) < 10 ** -digits / 2) return (0).toFixed(digits);
  const s = v.toFixed(digits);
  return v > 0 ? `+${s}` : s;
}

/** Ticks for a scale: five evenly spaced values. */
export function ticksFor(scale: ColorScale): Tick[] {
  if (scale.kind === "sequential") {
    return [0, 0.25, 0.5, 0.75, 1].map((v) => ({ at: v, label: v.toFixed(2) }));
  }
  if (scale.kind === "diverging") {
    const m = scale.max;
    const digits = m >= 0.1 ? 2 : m >= 0.01 ? 3 : 4;
    return [-1, -0.5, 0, 0.5, 1].map((f) => ({
      at: (f + 1) / 2,
      label: f === 0 ? "0" : signed(f * m, digits),
    }));
  }
  return [];
}

/** What the colour bar's values are. */
export function colorbarCaption(
  scale: ColorScale,
  targetName: string,
  mode: SweepMode = "occlude",
): string {
  if (mode === "reveal") {
    return scale.kind === "diverging"
      ? `Gain in P(${targetName}) when only the patch is shown`
      : `P(${targetName}) with only the patch shown`;
  }
  return scale.kind === "diverging"
    ? `Drop in P(${targetName}) when the patch is occluded`
    : `P(${targetName}) with the patch occluded`;
}

/** The words under the diverging bar's two ends: what a blue and a red cell mean. */
export function colorbarEnds(mode: SweepMode = "occlude"): [string, string] {
  return mode === "reveal"
    ? ["◀ below the baseline alone", "the patch alone raises it ▶"]
    : ["◀ occluding raises it", "occluding lowers it ▶"];
}

export class ColorbarView {
  readonly element: HTMLDivElement;
  private readonly title = h("div", { className: "ow-colorbar-title" });
  private readonly ramp = h("div", {
    className: "ow-colorbar-ramp",
    attrs: { "aria-hidden": "true" },
  });
  private readonly ticks = h("div", { className: "ow-colorbar-ticks" });
  private readonly ends = h("div", { className: "ow-colorbar-ends" });
  private readonly low = h("span");
  private readonly high = h("span");
  private key = "";

  constructor() {
    this.ends.append(this.low, this.high);
    this.element = h("div", { className: "ow-colorbar", testid: "ow-colorbar" }, [
      this.title,
      this.ramp,
      this.ticks,
      this.ends,
    ]);
  }

  update(
    scale: ColorScale | null,
    targetName: string,
    width: number,
    mode: SweepMode = "occlude",
  ): void {
    this.element.style.width = `${width}px`;
    if (scale === null || scale.kind === "categorical") {
      this.element.hidden = true;
      return;
    }
    this.element.hidden = false;
    const max = scale.kind === "diverging" ? scale.max : "";
    const key = `${scale.kind}:${max}:${targetName}:${mode}`;
    if (key === this.key) return;
    this.key = key;
    const ticks = ticksFor(scale);
    this.ramp.style.background = cssGradient(scale.kind === "diverging" ? DIVERGING : SEQUENTIAL);
    setText(this.title, colorbarCaption(scale, targetName, mode));
    const [low, high] = colorbarEnds(mode);
    setText(this.low, scale.kind === "diverging" ? low : "");
    setText(this.high, scale.kind === "diverging" ? high : "");
    this.ticks.replaceChildren(
      ...ticks.map((t) => {
        const tick = h("span", { className: "ow-tick", text: t.label });
        tick.style.left = `${(t.at * 100).toFixed(1)}%`;
        return tick;
      }),
    );
    this.element.setAttribute(
      "aria-label",
      `Colour scale from ${ticks[0]?.label ?? ""} to ${ticks[ticks.length - 1]?.label ?? ""}`,
    );
  }
}
