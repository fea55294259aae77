// "Export PNG": the current view as one picture — title, note, the map as drawn (pinned outline
// included, hover outline not), its colour bar or class legend, and, when a cell is pinned, the
// inspector's occluded image and top-k probabilities beside it.
//
// The layout is computed as a list of draw items first (pure, testable without a canvas), then
// painted onto a 2D canvas and downloaded.
import { colorbarCaption, ticksFor } from "./colorbar";
import { css, DIVERGING, SEQUENTIAL, type Ramp, type RGB } from "../state/colormap";
import { context2d } from "../shared/dom";
import { downloadBlob } from "../shared/download";
import { displaySize } from "../state/geometry";
import type { InspectorView } from "./inspector";
import { entryColor, entryName, snapshotLegend } from "./legend";
import type { ColorScale } from "../state/scales";
import { targetLabel } from "../state/selectors";
import type { Snapshot } from "../state/sync";

export interface ExportParts {
  title: string;
  note: string;
  /** The map canvas and the size it is shown at (CSS pixels). */
  map: { source: CanvasImageSource; width: number; height: number };
  /** The colour bar: its ramp, ticks (0..1 along the bar) and caption; null when none is shown. */
  colorbar: { ramp: Ramp; ticks: { at: number; label: string }[]; caption: string } | null;
  /** Legend entries (predicted-class view). */
  legend: { color: RGB; text: string }[];
  /** The pinned cell's inspector, or null when nothing is pinned. */
  inspector: {
    source: CanvasImageSource;
    width: number;
    height: number;
    title: string;
    lines: string[];
  } | null;
}

/** Where a text item's x is: its left end, its middle or its right end. */
export type Align = "left" | "center" | "right";

/** The width of a line of text in CSS pixels, as the painter will draw it. */
export type Measure = (text: string, bold: boolean) => number;

export type DrawItem =
  | {
      kind: "text";
      text: string;
      x: number;
      y: number;
      bold: boolean;
      muted: boolean;
      align: Align;
    }
  | { kind: "image"; source: CanvasImageSource; x: number; y: number; w: number; h: number }
  | { kind: "ramp"; ramp: Ramp; x: number; y: number; w: number; h: number }
  | { kind: "swatch"; color: RGB; x: number; y: number; w: number; h: number };

export interface ExportLayout {
  width: number;
  height: number;
  items: DrawItem[];
}

const PAD = 16;
const LINE = 18;
const INSPECTOR_GAP = 24;
const INSPECTOR_WIDTH = 240;
const FONT_PX = 13;

/** A measure for layouts made without a canvas: a generous average glyph width. */
export const estimateWidth: Measure = (text, bold) => text.length * FONT_PX * (bold ? 0.62 : 0.58);

function font(bold: boolean): string {
  return `${bold ? "600 " : ""}${FONT_PX}px system-ui, sans-serif`;
}

/**
 * Break `text` at spaces into lines no wider than `width`; a single word wider than that keeps
 * a line of its own (the picture then grows to hold it) rather than being cut.
 */
export function wrapText(text: string, width: number, measure: Measure, bold = false): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    const candidate = line === "" ? word : `${line} ${word}`;
    if (line !== "" && measure(candidate, bold) > width) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line !== "" || lines.length === 0) lines.push(line);
  return lines;
}

/**
 * What the widget shows now, as export parts: the map canvas as drawn, the scale or legend of
 * the view, and the inspector when a cell is pinned. Null before the image arrives.
 */
export function viewParts(
  s: Snapshot,
  title: string,
  scale: ColorScale | null,
  map: HTMLCanvasElement,
  inspector: InspectorView,
): ExportParts | null {
  const image = s.image;
  if (image === null) return null;
  const size = displaySize(image.width, image.height);
  const legend = s.view === "predicted_class" ? snapshotLegend(s).entries : [];
  const text = (selector: string): string =>
    inspector.element.querySelector(selector)?.textContent ?? "";
  return {
    title,
    note: s.note,
    map: { source: map, width: size.width, height: size.height },
    colorbar:
      scale === null || scale.kind === "categorical"
        ? null
        : {
            ramp: scale.kind === "diverging" ? DIVERGING : SEQUENTIAL,
            ticks: ticksFor(scale),
            caption: colorbarCaption(scale, targetLabel(s), s.mode),
          },
    legend: legend.map((e) => ({
      color: entryColor(s, e),
      text: `${entryName(s, e)}  ${e.count} · ${e.percent.toFixed(1)}%`,
    })),
    inspector:
      s.selected === null
        ? null
        : {
            source: inspector.canvas,
            width: image.width,
            height: image.height,
            title: text(".ow-inspector-title"),
            lines: [text(".ow-predicted"), text(".ow-drop"), ...inspector.rowTexts()],
          },
  };
}

/**
 * Where everything goes, in CSS pixels (painted at the device pixel ratio). Titles and notes
 * wrap to the map's width, the colour bar's end labels end at the bar's ends, and the picture is
 * as wide as its widest text, so nothing is cut.
 */
export function exportLayout(parts: ExportParts, measure: Measure = estimateWidth): ExportLayout {
  const items: DrawItem[] = [];
  const text = (
    t: string,
    x: number,
    y: number,
    bold = false,
    muted = false,
    align: Align = "left",
  ): void => {
    items.push({ kind: "text", text: t, x, y, bold, muted, align });
  };
  const room = Math.max(parts.map.width, 240);
  const paragraph = (t: string, x: number, y: number, bold = false, muted = false): number => {
    for (const line of wrapText(t, room, measure, bold)) {
      text(line, x, y, bold, muted);
      y += LINE;
    }
    return y;
  };
  let y = PAD;
  y = paragraph(parts.title, PAD, y, true) + 4;
  if (parts.note !== "") y = paragraph(parts.note, PAD, y, false, true);
  const mapTop = y;
  items.push({ kind: "image", source: parts.map.source, x: PAD, y, ...sized(parts.map) });
  y += parts.map.height + 8;
  if (parts.colorbar !== null) {
    y = paragraph(parts.colorbar.caption, PAD, y, false, true);
    const w = parts.map.width;
    items.push({ kind: "ramp", ramp: parts.colorbar.ramp, x: PAD, y, w, h: 12 });
    y += 16;
    for (const tick of parts.colorbar.ticks) {
      const align: Align = tick.at <= 0 ? "left" : tick.at >= 1 ? "right" : "center";
      text(tick.label, PAD + tick.at * w, y, false, false, align);
    }
    y += LINE;
  }
  for (const entry of parts.legend) {
    items.push({ kind: "swatch", color: entry.color, x: PAD, y: y + 3, w: 12, h: 12 });
    text(entry.text, PAD + 18, y);
    y += LINE;
  }
  let width = PAD * 2 + room;
  let bottom = y;
  const inspector = parts.inspector;
  if (inspector !== null) {
    const x = PAD + parts.map.width + INSPECTOR_GAP;
    let iy = mapTop;
    text(inspector.title, x, iy, true);
    iy += LINE + 4;
    const scale = Math.min(1, INSPECTOR_WIDTH / Math.max(1, inspector.width));
    const w = inspector.width * scale;
    const h = inspector.height * scale;
    items.push({ kind: "image", source: inspector.source, x, y: iy, w, h });
    iy += h + 8;
    for (const line of inspector.lines) {
      text(line, x, iy);
      iy += LINE;
    }
    width = x + INSPECTOR_WIDTH + PAD * 4;
    bottom = Math.max(bottom, iy);
  }
  for (const item of items) {
    if (item.kind === "text") width = Math.max(width, textExtent(item, measure).right + PAD);
  }
  return { width: Math.ceil(width), height: Math.ceil(bottom + PAD), items };
}

/** The horizontal span a text item covers once drawn. */
export function textExtent(
  item: Extract<DrawItem, { kind: "text" }>,
  measure: Measure = estimateWidth,
): { left: number; right: number } {
  const w = measure(item.text, item.bold);
  const left =
    item.align === "left" ? item.x : item.align === "right" ? item.x - w : item.x - w / 2;
  return { left, right: left + w };
}

function sized(map: { width: number; height: number }): { w: number; h: number } {
  return { w: map.width, h: map.height };
}

/** Paint a layout onto a new canvas; null where there is no 2D context. */
export function paintLayout(layout: ExportLayout, dpr = 2): HTMLCanvasElement | null {
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(layout.width * dpr);
  canvas.height = Math.round(layout.height * dpr);
  const ctx = context2d(canvas);
  if (ctx === null) return null;
  ctx.scale(dpr, dpr);
  ctx.fillStyle = "#ffffff"; // a PNG for slides and papers: opaque, whatever the notebook theme
  ctx.fillRect(0, 0, layout.width, layout.height);
  ctx.textBaseline = "top";
  for (const item of layout.items) {
    if (item.kind === "text") {
      ctx.font = font(item.bold);
      ctx.fillStyle = item.muted ? "#555555" : "#111111";
      ctx.textAlign = item.align;
      ctx.fillText(item.text, item.x, item.y);
    } else if (item.kind === "image") {
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(item.source, item.x, item.y, item.w, item.h);
    } else if (item.kind === "ramp") {
      const gradient = ctx.createLinearGradient(item.x, 0, item.x + item.w, 0);
      const last = Math.max(1, item.ramp.length - 1);
      item.ramp.forEach((c, i) => gradient.addColorStop(i / last, css(c)));
      ctx.fillStyle = gradient;
      ctx.fillRect(item.x, item.y, item.w, item.h);
    } else {
      ctx.fillStyle = css(item.color);
      ctx.fillRect(item.x, item.y, item.w, item.h);
    }
  }
  return canvas;
}

/**
 * Compose and download the picture as `filename`. Resolves to false (nothing downloaded) where
 * the browser gives no 2D canvas.
 */
export function downloadPng(parts: ExportParts, filename: string): Promise<boolean> {
  const ctx = context2d(document.createElement("canvas"));
  if (ctx === null) return Promise.resolve(false);
  const measure: Measure = (t, bold) => {
    ctx.font = font(bold);
    return ctx.measureText(t).width;
  };
  const canvas = paintLayout(exportLayout(parts, measure));
  if (canvas === null) return Promise.resolve(false);
  return new Promise((resolve) => {
    canvas.toBlob((blob) => {
      if (blob === null) {
        resolve(false);
        return;
      }
      downloadBlob(blob, filename);
      resolve(true);
    }, "image/png");
  });
}
