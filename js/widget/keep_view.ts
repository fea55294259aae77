// One view survives the kernel updating its output.
//
// The kernel keeps a picture of the map beside the widget in the cell's output and replaces
// that output when the sweep ends or the target changes (update_display_data). JupyterLab and
// Notebook 7 then empty the output (its old view is orphaned: out of the page, never closed)
// and ask for a new view. Drawn from scratch, the new view would lose what is local to a view:
// the hovered cell, the class search, a probe, keyboard focus. So the orphan's content moves
// into the new view instead, and the orphan's own cleanup no longer touches it.

/** What a view's model proxy offers here (anywidget gives each view its own proxy). */
interface ModelLike {
  get(name: string): unknown;
}

interface Kept {
  /** The first view's model proxy: it reads the one model that every view of it shares. */
  model: ModelLike;
  /** The element the content is in now (the last view's). */
  el: HTMLElement;
  dispose: () => void;
  /** Whether `el` was ever in the page: a view not drawn yet is never taken for an orphan. */
  shown: boolean;
  /** The element focused inside the content when it was last focused. */
  focused: Element | null;
}

const all = new Set<Kept>();

/**
 * Whether two proxies read the same model. anywidget makes a proxy per view, so the proxies
 * differ; the image trait's decoded value is one object per model, shared by its proxies.
 */
function sameModel(a: ModelLike, b: ModelLike): boolean {
  const image = a.get("image");
  return image !== null && typeof image === "object" && image === b.get("image");
}

/** Mark `entry` as shown once its element is in the page (checked once per frame until then). */
function watch(entry: Kept): void {
  const check = (): void => {
    if (!all.has(entry)) return;
    if (entry.el.isConnected) entry.shown = true;
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
}

/** An earlier view of `model` whose element was in the page and was taken out of it. */
function orphanOf(model: ModelLike, el: HTMLElement): Kept | undefined {
  for (const entry of all) {
    const orphaned = entry.el !== el && entry.shown && entry.el.parentNode === null;
    if (orphaned && sameModel(entry.model, model)) return entry;
  }
  return undefined;
}

/**
 * Draw a view of `model` in `el` with `build` (which returns its cleanup), or move an orphaned
 * view's content into `el`. Returns the view's cleanup: only the view that holds the content
 * disposes of it.
 */
export function keepView(model: ModelLike, el: HTMLElement, build: () => () => void): () => void {
  const orphan = orphanOf(model, el);
  let entry: Kept;
  if (orphan !== undefined) {
    entry = orphan;
    el.append(...Array.from(orphan.el.childNodes));
    orphan.el = el;
    orphan.shown = false;
    const focus = orphan.focused;
    if (focus instanceof HTMLElement) {
      // The orphaned output lost focus when it left the page: give it back once shown again,
      // unless the person has focused something else meanwhile.
      requestAnimationFrame(() => {
        const active = document.activeElement;
        if (focus.isConnected && (active === null || active === document.body)) {
          focus.focus({ preventScroll: true });
        }
      });
    }
  } else {
    entry = { model, el, dispose: build(), shown: false, focused: null };
    all.add(entry);
  }
  const mine = entry;
  el.addEventListener("focusin", (event) => {
    if (mine.el === el) mine.focused = event.target instanceof Element ? event.target : null;
  });
  watch(mine);
  return () => {
    if (mine.el !== el) return; // an orphan closed after its content moved on
    all.delete(mine);
    mine.dispose();
  };
}
