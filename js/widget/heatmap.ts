// The map view: the image with one colour per occlusion position laid over it, the hovered and
// pinned patches outlined, and pointer/keyboard events turned into cell events. Where the cells
// lie and which cell a pixel belongs to is geometry.ts.
import { context2d } from "../shared/dom";
import {
  buildGeometry,
  displaySize,
  hitTest,
  paintCells,
  patchBox,
  type DisplaySize,
  type Geometry,
} from "../state/geometry";
import type { Cell, Grid, RGBAImage } from "../state/sync";
import { underlayPixels } from "../state/underlay";

export interface HeatmapFrame {
  image: RGBAImage | null;
  grid: Grid | null;
  /** RGBA per cell, rows * cols * 4, or null to draw the image alone. */
  colors: Uint8ClampedArray | null;
  /** 1 for cells not computed yet (drawn hatched, over their estimate's colour if any). */
  pending: Uint8Array | null;
  opacity: number;
  hover: Cell | null;
  pinned: Cell | null;
}

export interface HeatmapHandlers {
  hover(cell: Cell | null): void;
  pin(cell: Cell): void;
  move(dr: number, dc: number): void;
  unpin(): void;
}

function offscreen(pixels: Uint8ClampedArray, width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = context2d(canvas);
  if (ctx !== null) {
    const data = ctx.createImageData(width, height);
    data.data.set(pixels.subarray(0, width * height * 4));
    ctx.putImageData(data, 0, 0);
  }
  return canvas;
}

function hatch(ctx: CanvasRenderingContext2D): CanvasPattern | null {
  const tile = document.createElement("canvas");
  tile.width = 8;
  tile.height = 8;
  const t = context2d(tile);
  if (t === null) return null;
  // Light stripes over dark ones: reads as "not measured" over any colour, while the estimate's
  // colour (or the image) still shows between them.
  for (const [style, width] of [
    ["rgba(0, 0, 0, 0.35)", 3],
    ["rgba(255, 255, 255, 0.7)", 1.5],
  ] as const) {
    t.strokeStyle = style;
    t.lineWidth = width;
    t.beginPath();
    t.moveTo(-2, 10);
    t.lineTo(10, -2);
    t.moveTo(-2, 2);
    t.lineTo(2, -2);
    t.moveTo(6, 10);
    t.lineTo(10, 6);
    t.stroke();
  }
  return ctx.createPattern(tile, "repeat");
}

/** The map canvas: draws frames and turns pointer and keys into cell events. */
export class HeatmapView {
  readonly element: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  readonly badge: HTMLDivElement;
  private geometry: Geometry | null = null;
  private geometryKey: [Grid | null, number, number] = [null, 0, 0];
  /** The image as drawn, per image and whether a map lies over it (then in grey). */
  private imageSource: [RGBAImage | null, boolean, HTMLCanvasElement | null] = [null, false, null];
  private size: DisplaySize = { width: 320, height: 320, scale: 1, pixelated: false };
  private overlay: [Uint8ClampedArray | null, Geometry | null, HTMLCanvasElement | null] = [
    null,
    null,
    null,
  ];
  private pattern: CanvasPattern | null | undefined = undefined;
  /** The hover outline lives on its own canvas over the map, so hovering never repaints cells. */
  readonly hoverCanvas: HTMLCanvasElement;
  private hoverDrawn: Cell | null | undefined = undefined;
  private baseKey: unknown[] = [];

  constructor(handlers: HeatmapHandlers, signal: AbortSignal) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "ow-map";
    this.canvas.dataset.testid = "ow-map";
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("role", "application");
    this.canvas.setAttribute(
      "aria-label",
      "Occlusion map. Hover or click a position to inspect it; arrow keys move the pinned " +
        "position; Escape unpins.",
    );
    this.badge = document.createElement("div");
    this.badge.className = "ow-map-badge";
    this.badge.hidden = true;
    this.element = document.createElement("div");
    this.element.className = "ow-map-frame";
    this.hoverCanvas = document.createElement("canvas");
    this.hoverCanvas.className = "ow-map-hover";
    this.hoverCanvas.setAttribute("aria-hidden", "true");
    this.element.append(this.canvas, this.hoverCanvas, this.badge);

    const cellAt = (event: MouseEvent): Cell | null => {
      const g = this.geometry;
      if (g === null) return null;
      const rect = this.canvas.getBoundingClientRect();
      if (!(rect.width > 0 && rect.height > 0)) return null;
      const x = ((event.clientX - rect.left) / rect.width) * g.width;
      const y = ((event.clientY - rect.top) / rect.height) * g.height;
      return hitTest(g, x, y);
    };
    const opts = { signal };
    this.canvas.addEventListener("mousemove", (e) => handlers.hover(cellAt(e)), opts);
    this.canvas.addEventListener("mouseleave", () => handlers.hover(null), opts);
    this.canvas.addEventListener(
      "click",
      (e) => {
        const cell = cellAt(e);
        if (cell !== null) handlers.pin(cell);
      },
      opts,
    );
    this.canvas.addEventListener(
      "keydown",
      (e) => {
        const moves: Record<string, [number, number]> = {
          ArrowUp: [-1, 0],
          ArrowDown: [1, 0],
          ArrowLeft: [0, -1],
          ArrowRight: [0, 1],
        };
        const move = moves[e.key];
        if (move !== undefined) {
          e.preventDefault(); // arrows must not scroll the notebook while the map has focus
          handlers.move(move[0], move[1]);
        } else if (e.key === "Escape") {
          e.preventDefault();
          handlers.unpin();
        }
      },
      opts,
    );
  }

  /**
   * Draw a frame. The image, the cells and the pinned outline are redrawn only when one of them
   * changed; hovering redraws just the outline on the overlay canvas above the map.
   */
  draw(frame: HeatmapFrame): void {
    const { image, grid } = frame;
    const width = image?.width ?? 0;
    const height = image?.height ?? 0;
    if (
      grid !== this.geometryKey[0] ||
      width !== this.geometryKey[1] ||
      height !== this.geometryKey[2]
    ) {
      this.geometryKey = [grid, width, height];
      this.geometry = grid !== null && width > 0 ? buildGeometry(grid, width, height) : null;
    }
    if (image === null) return;
    const key = [image, grid, frame.colors, frame.pending, frame.opacity, ...(frame.pinned ?? [])];
    if (key.length !== this.baseKey.length || key.some((v, i) => v !== this.baseKey[i])) {
      this.baseKey = key;
      this.drawBase(frame, image);
    }
    this.drawHover(frame.hover, frame.pinned);
  }

  /** Only the hover outline: what a mouse move over the map costs. */
  drawHover(hover: Cell | null, pinned: Cell | null): void {
    const shown =
      hover !== null && (pinned === null || hover[0] !== pinned[0] || hover[1] !== pinned[1])
        ? hover
        : null;
    const drawn = this.hoverDrawn;
    if (drawn !== undefined && shown?.[0] === drawn?.[0] && shown?.[1] === drawn?.[1]) return;
    this.hoverDrawn = shown;
    const { width, height } = this.canvas;
    if (this.hoverCanvas.width !== width) this.hoverCanvas.width = width;
    if (this.hoverCanvas.height !== height) this.hoverCanvas.height = height;
    const ctx = context2d(this.hoverCanvas);
    const grid = this.geometryKey[0];
    if (ctx === null) return;
    ctx.clearRect(0, 0, width, height);
    if (shown !== null && grid !== null && this.geometryKey[1] > 0) {
      outline(ctx, grid, shown, width / this.geometryKey[1], height / this.geometryKey[2], true);
    }
  }

  private drawBase(frame: HeatmapFrame, image: RGBAImage): void {
    const { width, height } = image;
    this.size = displaySize(width, height);
    const { width: dw, height: dh, pixelated } = this.size;
    // Height follows from the width and the canvas's own aspect ratio, also when a narrow
    // notebook squeezes the width (max-width: 100%).
    this.canvas.style.width = `${dw}px`;
    this.canvas.classList.toggle("ow-pixelated", pixelated);
    const dpr = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
    const bw = Math.round(dw * dpr);
    const bh = Math.round(dh * dpr);
    if (this.canvas.width !== bw) this.canvas.width = bw;
    if (this.canvas.height !== bh) this.canvas.height = bh;
    this.hoverDrawn = undefined; // a resized buffer needs the outline again
    const ctx = context2d(this.canvas);
    if (ctx === null) return;

    const g = this.geometry;
    // Under a map the image is grey (underlay.ts): its colours must not pass for map colours.
    const grey = g !== null && frame.opacity > 0;
    if (this.imageSource[0] !== image || this.imageSource[1] !== grey) {
      const pixels = grey ? underlayPixels(image.data) : image.data;
      this.imageSource = [image, grey, offscreen(pixels, width, height)];
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, bw, bh);
    ctx.imageSmoothingEnabled = !pixelated;
    ctx.imageSmoothingQuality = "high";
    const source = this.imageSource[2];
    if (source !== null) ctx.drawImage(source, 0, 0, bw, bh);

    const sx = bw / width;
    const sy = bh / height;
    if (g !== null && frame.opacity > 0) {
      ctx.globalAlpha = frame.opacity;
      ctx.imageSmoothingEnabled = false; // cell edges stay sharp at any zoom
      if (frame.colors !== null) {
        if (this.overlay[0] !== frame.colors || this.overlay[1] !== g) {
          this.overlay = [frame.colors, g, offscreen(paintCells(g, frame.colors), width, height)];
        }
        const overlay = this.overlay[2];
        if (overlay !== null) ctx.drawImage(overlay, 0, 0, bw, bh);
      }
      // Cells not computed yet are hatched: over an estimate's fainter colour, or alone.
      const pending = frame.pending;
      if (this.pattern === undefined) this.pattern = hatch(ctx);
      const pattern = this.pattern;
      if (pending !== null && pattern !== null) {
        ctx.fillStyle = pattern;
        for (let r = 0; r < g.rows; r++) {
          const y0 = g.rowSpans[2 * r] ?? -1;
          const y1 = g.rowSpans[2 * r + 1] ?? -1;
          if (y0 < 0) continue;
          for (let c = 0; c < g.cols; c++) {
            const x0 = g.colSpans[2 * c] ?? -1;
            const x1 = g.colSpans[2 * c + 1] ?? -1;
            if (x0 < 0 || pending[r * g.cols + c] !== 1) continue;
            ctx.fillRect(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy);
          }
        }
      }
      ctx.globalAlpha = 1;
    }
    if (frame.grid !== null && frame.pinned !== null) {
      outline(ctx, frame.grid, frame.pinned, sx, sy, false);
    }
  }
}

/** A patch outline: a dark line under a light one stays visible on any image. */
function outline(
  ctx: CanvasRenderingContext2D,
  grid: Grid,
  cell: Cell,
  sx: number,
  sy: number,
  dashed: boolean,
): void {
  const dpr = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
  const box = patchBox(grid, cell);
  const x = box.left * sx;
  const y = box.top * sy;
  const w = box.width * sx;
  const h = box.height * sy;
  ctx.setLineDash(dashed ? [6 * dpr, 4 * dpr] : []);
  ctx.lineWidth = 4 * dpr;
  ctx.strokeStyle = "rgba(0, 0, 0, 0.8)";
  ctx.strokeRect(x + dpr, y + dpr, w - 2 * dpr, h - 2 * dpr);
  ctx.lineWidth = 2 * dpr;
  ctx.strokeStyle = "rgba(255, 255, 255, 0.95)";
  ctx.strokeRect(x + dpr, y + dpr, w - 2 * dpr, h - 2 * dpr);
  ctx.setLineDash([]);
}
