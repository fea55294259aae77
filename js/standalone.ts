// Entry of the standalone page (occlusion_widget/static/standalone.js): the same widget, drawn
// from state embedded in the HTML file, with no kernel and no network.
//
// Hover, pin, arrow keys, Escape, view, legend and target all work: they only read the state.
// What needs Python (Recompute, Cancel, the sweep parameters, the probe, Export page) is switched
// off by the widget itself, with a reason, because the page's model says `_kernel: false`.
import type { AnyModel } from "@anywidget/types";
import { PageModel, type PageState } from "./page/model";
import widget from "./widget/render";

export const KERNEL_OFF =
  "Standalone page: hover, pin and switch targets; recomputing needs Python.";

export function mountPage(doc: Document): PageModel {
  const data = doc.getElementById("ow-state");
  const host = doc.getElementById("ow-root");
  if (data === null || host === null) {
    throw new Error("this page lacks its #ow-state data or its #ow-root element");
  }
  const page = JSON.parse(data.textContent ?? "null") as PageState;
  const model = new PageModel(page);
  const banner = doc.createElement("p");
  banner.className = "ow-page-banner";
  banner.dataset.testid = "ow-page-banner";
  banner.textContent = KERNEL_OFF;
  const note = doc.createElement("p");
  note.className = "ow-page-note";
  note.dataset.testid = "ow-page-note";
  note.textContent = page.note;
  const el = doc.createElement("div");
  host.append(banner, el, note);
  widget.render({
    model: model as unknown as AnyModel<never>,
    el,
    experimental: undefined as never,
  } as never);
  return model;
}

mountPage(document);
