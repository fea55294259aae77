// anywidget entry: wires the synced model to the views and returns a cleanup.
//
// Everything a view draws comes from the model, so two views of one widget stay in sync; only
// the hovered cell, the highlighted legend class and the target search are local to a view.
import type { AnyModel, RenderProps } from "@anywidget/types";
import { ColorbarView } from "./colorbar";
import { ControlsView } from "./controls";
import { h, setText } from "../shared/dom";
import { downloadPng, viewParts } from "./export_png";
import { pageFromReply } from "./export_page";
import { downloadBlob } from "../shared/download";
import { displaySize } from "../state/geometry";
import { HeatmapView } from "./heatmap";
import { InspectorView } from "./inspector";
import { keepView } from "./keep_view";
import { LegendView } from "./legend";
import { ProbeController } from "../probe/controller";
import { Requests, type Reply, type Sender } from "../shared/requests";
import { cellColors } from "../state/scales";
import { flatNote, targetLabel } from "../state/selectors";
import {
  readSnapshot,
  readTargets,
  TRAITS,
  type Cell,
  type ModelTraits,
  type Snapshot,
} from "../state/sync";
import { injectStyles, ROOT_CLASS } from "../shared/styles";
import { badgeText, frameScheduler, mapTitle } from "./titles";
import { pinText, watchEscape } from "./unpin";

export const version: string = __OW_VERSION__;

type Model = AnyModel<ModelTraits>;

/**
 * Targets set from this page whose new `target_map` has not arrived yet, per model (shared by
 * all views of the model, since one view's change reaches the others without the kernel).
 */
const pendingTarget = new WeakMap<object, string>();

let views = 0;

/** A view, or the content of one that the kernel's output update orphaned (`keep_view.ts`). */
function render({ model, el }: RenderProps<ModelTraits>): () => void {
  return keepView(model, el, () => build(model, el));
}

function build(model: Model, el: HTMLElement): () => void {
  const abort = new AbortController();
  const { signal } = abort;
  const viewId = `ow${Date.now().toString(36)}v${++views}`;
  let hover: Cell | null = null;
  let highlight: number | null = null;

  const save = (): void => model.save_changes();
  // Requests from this view, by id, so a reply is matched to what it answers.
  const requests = new Requests(model as unknown as Sender, viewId);
  const refused =
    (request: string) =>
    (reply: Reply): boolean => {
      if (reply.ok) return false;
      controls.setLocalError(String(reply.error ?? `the kernel refused the ${request} request`));
      return true;
    };
  const setSelected = (cell: Cell | null): void => {
    model.set("selected", cell === null ? null : [cell[0], cell[1]]);
    save();
  };

  const controls = new ControlsView(
    {
      view(view) {
        model.set("view", view);
        save();
      },
      target(classes) {
        const group = readTargets(classes);
        if (group === readTargets(model.get("target"))) return;
        pendingTarget.set(model, group.join(","));
        // One class travels as an int, as before groups existed; a group as a list.
        model.set("target", group.length === 1 ? (group[0] ?? 0) : [...group]);
        save();
      },
      colorScale(mode) {
        model.set("color_scale", mode);
        save();
      },
      exportPng() {
        void exportView();
      },
      opacity(value, commit) {
        model.set("opacity", value);
        if (commit) save();
      },
      recompute(params) {
        // The kernel validates and then sets patch_size / stride / baseline / mode itself:
        // writing the traits from here would show values it may refuse as if they were the map's.
        requests.send("recompute", { params }, (reply) => {
          if (!refused("recompute")(reply)) controls.recomputeAccepted();
        });
      },
      cancel() {
        requests.send("cancel", {}, (reply) => {
          if (!refused("cancel")(reply)) controls.setLocalError("");
        });
      },
      exportPage() {
        requests.send("export_html", {}, (reply, buffers) => {
          const page = pageFromReply(reply, buffers);
          if ("error" in page) controls.setLocalError(page.error);
          else downloadBlob(page.blob, page.filename);
        });
      },
    },
    signal,
  );

  const heatmap = new HeatmapView(
    {
      hover(cell) {
        if (cell?.[0] === hover?.[0] && cell?.[1] === hover?.[1]) return;
        hover = cell;
        hoverChanged = true;
        scheduler.schedule();
      },
      pin(cell) {
        setSelected(cell);
      },
      move(dr, dc) {
        // Read the model, not the last frame: keys can come faster than frames.
        const now = readSnapshot(model);
        const grid = now.grid;
        if (grid === null) return;
        const from = now.selected ?? hover;
        if (from === null) {
          setSelected([0, 0]);
          return;
        }
        const r = Math.min(grid.rows - 1, Math.max(0, from[0] + dr));
        const c = Math.min(grid.cols - 1, Math.max(0, from[1] + dc));
        setSelected([r, c]);
      },
      unpin() {
        // Escape clears a probe first; the next Escape unpins.
        if (probe.active) probe.clear();
        else setSelected(null);
      },
    },
    signal,
  );
  const colorbar = new ColorbarView();
  const legend = new LegendView((cls) => {
    highlight = highlight === cls ? null : cls;
    onChange();
  });
  const inspector = new InspectorView();
  const probe = new ProbeController(requests, () => last, heatmap.element, signal);
  const title = h("div", { className: "ow-map-title" });
  // What the kernel wants said about the map (e.g. that no patch changes anything), laid over
  // the map's foot: when it appears the map stays where the pointer is.
  const note = h("div", { className: "ow-note", testid: "note", attrs: { role: "status" } });
  heatmap.element.append(note);
  // What the widget shows, when it is one of many (the gallery names the image it opened).
  const caption = h("div", { className: "ow-title-line", testid: "ow-caption" });
  // Whether the inspector follows the pointer or stays on a pinned cell (pinned from Python
  // too), and how to let it go.
  const pinNote = h("button", {
    className: "ow-pin-note",
    testid: "ow-pin-note",
    attrs: { type: "button" },
  });
  pinNote.addEventListener("click", () => setSelected(null), { signal });
  // Screen readers hear the pinned position when it changes, not every hovered cell.
  const announcer = h("div", { className: "ow-sr-only", attrs: { "aria-live": "polite" } });
  let announced = "";
  let paintKey: unknown[] = [];
  let paint: ReturnType<typeof cellColors> | null = null;

  const root = h("div", { className: ROOT_CLASS, attrs: { "data-ow-version": version } });
  injectStyles(root);
  const left = h("div", { className: "ow-left" }, [
    title,
    probe.view.toolbar,
    heatmap.element,
    colorbar.element,
    legend.element,
  ]);
  const right = h("div", { className: "ow-right" }, [
    pinNote,
    probe.result.element,
    inspector.element,
  ]);
  const body = h("div", { className: "ow-body" }, [left, right]);
  root.append(caption, controls.element, body, announcer);
  el.appendChild(root);
  watchEscape(root, signal, () => {
    if (!probe.active && (last?.selected ?? null) === null) return false;
    if (probe.active) probe.clear();
    else setSelected(null);
    return true;
  });

  /** The last full frame's snapshot: hovering redraws from it without decoding anything. */
  let last: Snapshot | null = null;
  // A trait changed since the last frame (full redraw), or only the hovered cell did.
  let dataChanged = true;
  let hoverChanged = false;

  function frame(): void {
    if (dataChanged || last === null) {
      draw();
    } else if (hoverChanged) {
      drawHover(last);
    }
    dataChanged = false;
    hoverChanged = false;
  }

  /** What a mouse move costs: the hover outline and, when nothing is pinned, the inspector. */
  function drawHover(s: Snapshot): void {
    heatmap.drawHover(hover, s.selected);
    if (s.selected === null) inspector.update(s, hover, false);
  }

  async function exportView(): Promise<void> {
    const s = last;
    if (s === null) return;
    const parts = viewParts(s, mapTitle(s), paint?.scale ?? null, heatmap.canvas, inspector);
    if (parts === null) return;
    const ok = await downloadPng(parts, "occlusion-map.png");
    if (!ok) controls.setLocalError("This browser could not draw the PNG (no 2D canvas).");
  }

  function draw(): void {
    const pending = pendingTarget.get(model);
    const stale = pending !== undefined && pending === readTargets(model.get("target")).join(",");
    const s = readSnapshot(model, stale);
    last = s;
    if (hover !== null && (s.grid === null || hover[0] >= s.grid.rows || hover[1] >= s.grid.cols)) {
      hover = null;
    }
    controls.update(s);
    probe.update(s);
    // Hover redraws reuse the cell colours; they change only with the data, view or highlight.
    const key = [
      s.grid,
      s.topkIndices,
      s.targetMap,
      s.estimated,
      s.base,
      s.labels,
      s.view,
      s.targets,
      s.colorScale,
      highlight,
    ];
    if (paint === null || key.some((v, i) => v !== paintKey[i])) {
      paintKey = key;
      paint = cellColors(s, s.view === "predicted_class" ? highlight : null);
    }
    heatmap.draw({
      image: s.image,
      grid: s.grid,
      colors: paint.colors,
      pending: paint.pending,
      opacity: s.opacity,
      hover,
      pinned: s.selected,
    });
    const badge = badgeText(s, stale);
    heatmap.badge.hidden = badge === "";
    heatmap.badge.textContent = badge;
    // The left column is as wide as the map whatever the view shows under it, so the inspector
    // beside it never moves; the title wraps inside two reserved lines, so a long one is read
    // whole and the map under it stays put.
    const width = s.image === null ? 320 : displaySize(s.image.width, s.image.height).width;
    const columnWidth = `${Math.max(width, 240)}px`;
    if (left.style.width !== columnWidth) left.style.width = columnWidth;
    const titleText = mapTitle(s);
    setText(title, titleText);
    if (title.title !== titleText) title.title = titleText;
    const noteText = s.note !== "" ? s.note : flatNote(s);
    setText(note, noteText);
    note.hidden = noteText === "";
    setText(caption, s.caption);
    caption.hidden = s.caption === "";
    setText(pinNote, pinText(s.selected));
    pinNote.disabled = s.selected === null;
    colorbar.update(paint.scale, targetLabel(s), width, s.mode);
    legend.update(s, highlight, s.view === "predicted_class");
    inspector.update(s, s.selected ?? hover, s.selected !== null);
    const announcement =
      s.selected === null
        ? ""
        : `Pinned row ${s.selected[0]}, column ${s.selected[1]}. ` +
          (inspector.element.querySelector(".ow-predicted")?.textContent ?? "");
    if (announcement !== announced) {
      announced = announcement;
      announcer.textContent = announcement;
    }
  }
  const scheduler = frameScheduler(frame);

  const onChange = (): void => {
    dataChanged = true;
    scheduler.schedule();
  };
  const onMap = (): void => {
    pendingTarget.delete(model);
    onChange();
  };
  const onMessage = (msg: unknown, buffers?: unknown): void => {
    requests.receive(msg, buffers);
  };
  for (const name of TRAITS) model.on(`change:${name}`, onChange);
  model.on("change:target_map", onMap);
  model.on("msg:custom", onMessage);

  // The first frame is drawn at once, so the widget is never blank.
  frame();

  return () => {
    scheduler.cancel();
    abort.abort();
    for (const name of TRAITS) model.off(`change:${name}`, onChange);
    model.off("change:target_map", onMap);
    model.off("msg:custom", onMessage);
    root.remove();
  };
}

export default { render } satisfies { render: (props: RenderProps<ModelTraits>) => () => void };
export type { Model };
