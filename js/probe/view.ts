// The live occluder on the map: a "Probe" toggle with a box / brush choice, and a layer over the
// map canvas that turns drags into regions in image pixels (region.ts) and draws them. While the
// tool is off the layer lets every pointer event through, so hovering the map costs nothing more.
import { context2d, h } from "../shared/dom";
import { displaySize } from "../state/geometry";
import { dragBox, paintStroke, type Point, type ProbeRegion } from "./region";
import type { RGBAImage } from "../state/sync";

export interface ProbeViewHandlers {
  /** A region drawn (`final` on mouse-up); send it (coalesced by the queue). */
  region(region: ProbeRegion, final: boolean): void;
  /** The tool was switched off: forget the probe. */
  off(): void;
}

const PROBE_TITLE = "Live occluder: draw any region and see what the model says without it";
export const PROBE_HINT_BOX = "Drag a box on the map: the model sees it filled by the baseline.";
export const PROBE_HINT_BRUSH = "Paint on the map (Shift adds to the mask); Escape clears.";

export class ProbeView {
  readonly toolbar: HTMLDivElement;
  /** The canvas over the map that takes the pointer while the tool is on. */
  readonly layer: HTMLCanvasElement;
  readonly tool = h("button", {
    className: "ow-button",
    testid: "probe-tool",
    text: "Probe",
    attrs: {
      type: "button",
      "aria-pressed": "false",
      title: PROBE_TITLE,
    },
  });
  readonly brush = h("button", {
    className: "ow-button",
    testid: "probe-brush",
    text: "Brush",
    attrs: { type: "button", "aria-pressed": "false", title: "Paint a mask instead of a box" },
  });
  readonly radius = h("input", {
    testid: "probe-radius",
    attrs: {
      type: "range",
      min: "1",
      max: "48",
      step: "1",
      value: "8",
      "aria-label": "Brush radius",
    },
  });
  private readonly hint = h("span", { className: "ow-probe-hint" });
  private image: RGBAImage | null = null;
  private on = false;
  private brushOn = false;
  private start: Point | null = null;
  private last: Point | null = null;
  private mask: Uint8Array | null = null;
  private shown: ProbeRegion | null = null;

  constructor(
    private readonly handlers: ProbeViewHandlers,
    signal: AbortSignal,
  ) {
    const opts = { signal };
    this.layer = h("canvas", { className: "ow-probe-layer", attrs: { "aria-hidden": "true" } });
    this.toolbar = h("div", { className: "ow-row ow-probe-tools" }, [
      this.tool,
      this.brush,
      this.radius,
      this.hint,
    ]);
    this.tool.addEventListener("click", () => this.setOn(!this.on), opts);
    this.brush.addEventListener(
      "click",
      () => {
        this.brushOn = !this.brushOn;
        this.sync();
      },
      opts,
    );
    this.layer.addEventListener("mousedown", (e) => this.down(e), opts);
    this.layer.addEventListener("mousemove", (e) => this.move(e, false), opts);
    // The drag may end outside the map: listen on the window for the release.
    globalThis.addEventListener?.("mouseup", (e: MouseEvent) => this.move(e, true), opts);
    this.sync();
  }

  get active(): boolean {
    return this.on;
  }

  setOn(on: boolean): void {
    if (this.on === on) return;
    this.on = on;
    this.start = null;
    if (!on) {
      this.draw(null);
      this.handlers.off();
    }
    this.sync();
  }

  /**
   * The image to draw on; with no kernel the tool is hidden (probing needs Python), and with
   * no model (`noModel`, the reason) it is switched off and its title says why.
   */
  update(image: RGBAImage | null, kernel: boolean, noModel = ""): void {
    if (image !== this.image) {
      this.image = image;
      this.mask = null;
      this.draw(null);
    }
    this.toolbar.hidden = !kernel || image === null;
    this.tool.disabled = noModel !== "";
    const title = noModel !== "" ? noModel : PROBE_TITLE;
    if (this.tool.title !== title) this.tool.title = title;
    if ((!kernel || noModel !== "") && this.on) this.setOn(false);
  }

  /** Forget the drawn region (Escape, a new image). */
  clear(): void {
    this.mask = null;
    this.start = null;
    this.draw(null);
  }

  private sync(): void {
    this.tool.setAttribute("aria-pressed", String(this.on));
    this.brush.setAttribute("aria-pressed", String(this.brushOn));
    this.brush.hidden = !this.on;
    this.radius.hidden = !this.on || !this.brushOn;
    this.hint.hidden = !this.on;
    this.hint.textContent = this.brushOn ? PROBE_HINT_BRUSH : PROBE_HINT_BOX;
    this.layer.classList.toggle("ow-probe-on", this.on);
  }

  /** The event's position in image pixels. */
  private point(e: MouseEvent): Point | null {
    const image = this.image;
    if (image === null) return null;
    const rect = this.layer.getBoundingClientRect();
    if (!(rect.width > 0 && rect.height > 0)) return null;
    return [
      ((e.clientX - rect.left) / rect.width) * image.width,
      ((e.clientY - rect.top) / rect.height) * image.height,
    ];
  }

  private down(e: MouseEvent): void {
    const p = this.point(e);
    const image = this.image;
    if (!this.on || p === null || image === null) return;
    e.preventDefault(); // no text selection while dragging...
    // ...and the keys (Escape clears the probe, arrows move the pin) go to the map under us.
    this.layer.parentElement?.querySelector<HTMLElement>(".ow-map")?.focus({ preventScroll: true });
    this.start = p;
    this.last = p;
    if (this.brushOn) {
      const size = image.width * image.height;
      if (!e.shiftKey || this.mask === null || this.mask.length !== size) {
        this.mask = new Uint8Array(size);
      }
      this.stroke(p, false);
    }
  }

  private move(e: MouseEvent, final: boolean): void {
    if (this.start === null) return;
    const p = this.point(e) ?? this.last;
    if (p === null) return;
    if (this.brushOn) this.stroke(p, final);
    else this.boxTo(p, final);
    this.last = p;
    if (final) this.start = null;
  }

  private boxTo(p: Point, final: boolean): void {
    const image = this.image;
    if (image === null || this.start === null) return;
    const region: ProbeRegion = {
      kind: "box",
      box: dragBox(this.start, p, image.width, image.height),
    };
    this.draw(region);
    this.handlers.region(region, final);
  }

  private stroke(p: Point, final: boolean): void {
    const image = this.image;
    const mask = this.mask;
    if (image === null || mask === null) return;
    const radius = Number(this.radius.value) || 8;
    paintStroke(mask, image.width, image.height, this.last ?? p, p, radius);
    // A copy: the stroke goes on painting into `mask` while this region waits for its answer.
    const region: ProbeRegion = {
      kind: "mask",
      mask: mask.slice(),
      width: image.width,
      height: image.height,
    };
    this.draw(region);
    this.handlers.region(region, final);
  }

  /** Outline a box, or tint a mask, on the layer at the map's display size. */
  private draw(region: ProbeRegion | null): void {
    this.shown = region;
    const image = this.image;
    const ctx = context2d(this.layer);
    if (image === null || ctx === null) return;
    const size = displaySize(image.width, image.height);
    const dpr = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
    const [bw, bh] = [Math.round(size.width * dpr), Math.round(size.height * dpr)];
    if (this.layer.width !== bw) this.layer.width = bw;
    if (this.layer.height !== bh) this.layer.height = bh;
    ctx.clearRect(0, 0, bw, bh);
    if (this.shown === null) return;
    const [sx, sy] = [bw / image.width, bh / image.height];
    if (this.shown.kind === "box") {
      const [top, left, hh, ww] = this.shown.box;
      ctx.fillStyle = "rgba(255, 255, 255, 0.25)";
      ctx.fillRect(left * sx, top * sy, ww * sx, hh * sy);
      ctx.lineWidth = 2 * dpr;
      ctx.strokeStyle = "rgba(0, 0, 0, 0.9)";
      ctx.strokeRect(left * sx, top * sy, ww * sx, hh * sy);
      return;
    }
    // The mask at image resolution, scaled up without smoothing so its pixels show.
    const tint = document.createElement("canvas");
    tint.width = image.width;
    tint.height = image.height;
    const t = context2d(tint);
    if (t === null) return;
    const data = t.createImageData(image.width, image.height);
    const mask = this.shown.mask;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] !== 0) data.data.set([255, 255, 255, 150], i * 4);
    }
    t.putImageData(data, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tint, 0, 0, bw, bh);
  }
}
