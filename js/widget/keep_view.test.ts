import { afterEach, describe, expect, it, vi } from "vitest";
import { keepView } from "./keep_view";

/** A model proxy as anywidget makes one per view: a new object reading one shared state. */
function proxyOf(state: Record<string, unknown>) {
  return { get: (name: string) => state[name] };
}

/** An output area's renderer node holding a view's element, in the page. */
function shownView(): { output: HTMLElement; el: HTMLElement } {
  const output = document.createElement("div");
  const el = document.createElement("div");
  output.append(el);
  document.body.append(output);
  return { output, el };
}

const frame = (): Promise<void> => new Promise((resolve) => requestAnimationFrame(() => resolve()));

function build(label: string, disposed: string[]) {
  return (el: HTMLElement) => () => {
    const root = document.createElement("input");
    root.className = "content";
    root.value = label;
    el.append(root);
    return () => {
      disposed.push(label);
      root.remove();
    };
  };
}

afterEach(() => {
  document.body.textContent = "";
});

describe("keepView", () => {
  it("moves an orphaned view's content into the view drawn after an output update", async () => {
    const state = { image: {} };
    const disposed: string[] = [];
    const first = shownView();
    const made = build("first", disposed);
    const cleanupFirst = keepView(proxyOf(state), first.el, made(first.el));
    await frame();
    const input = first.el.querySelector("input");
    input?.focus();
    input!.value = "typed by the person";
    // JupyterLab on update_display_data: the output is emptied, the old view is not closed.
    first.output.textContent = "Loading widget...";
    const second = document.createElement("div");
    const buildAgain = vi.fn(() => () => undefined);
    const cleanupSecond = keepView(proxyOf(state), second, buildAgain);
    first.output.textContent = "";
    first.output.append(second);
    expect(buildAgain).not.toHaveBeenCalled();
    expect(second.querySelector("input")).toBe(input);
    expect(input?.value).toBe("typed by the person");
    await frame();
    expect(document.activeElement).toBe(input);
    // The orphan closing later leaves the content alone; the view holding it disposes of it.
    cleanupFirst();
    expect(disposed).toEqual([]);
    expect(second.querySelector("input")).toBe(input);
    cleanupSecond();
    expect(disposed).toEqual(["first"]);
  });

  it("draws anew for another model, and for views that were never in the page", async () => {
    const disposed: string[] = [];
    const one = shownView();
    const made = build("one", disposed);
    keepView(proxyOf({ image: {} }), one.el, made(one.el));
    await frame();
    one.output.textContent = "";
    // Another widget's model (its own image object): its view is drawn, nothing is taken.
    const other = document.createElement("div");
    const drawOther = vi.fn(() => () => undefined);
    keepView(proxyOf({ image: {} }), other, drawOther);
    expect(drawOther).toHaveBeenCalledOnce();
    expect(other.querySelector("input")).toBeNull();
    // Two views of one model drawn in the same moment (display(w) twice): both are drawn.
    const state = { image: {} };
    const a = document.createElement("div");
    const b = document.createElement("div");
    const drawA = vi.fn(() => () => undefined);
    const drawB = vi.fn(() => () => undefined);
    keepView(proxyOf(state), a, drawA);
    keepView(proxyOf(state), b, drawB);
    expect(drawA).toHaveBeenCalledOnce();
    expect(drawB).toHaveBeenCalledOnce();
  });
});
