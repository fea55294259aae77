// Letting go of a pinned cell: the line that says the inspector is pinned (and how to unpin),
// and Escape while the pointer is over the widget, wherever the keyboard focus is (a cell pinned
// from Python never gave the map the focus).
import type { Cell } from "../state/sync";

/** The pin line above the inspector: what is pinned and how to unpin, or how to pin. */
export function pinText(pinned: Cell | null): string {
  return pinned === null
    ? "not pinned · click a cell to pin it"
    : `Pinned (${pinned[0]}, ${pinned[1]}) · Esc or click here to unpin`;
}

function editable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

/**
 * Call `unpin` on Escape while the pointer is over `root`, unless a text field has the focus or
 * the map itself (it handles its own keys). `unpin` returns whether it let go of something; only
 * then is the key taken (default prevented), so elsewhere Escape keeps its meaning.
 *
 * The listener is on the window in the capture phase: JupyterLab handles its own shortcuts on
 * the document and may stop them there.
 */
export function watchEscape(root: HTMLElement, signal: AbortSignal, unpin: () => boolean): void {
  let over = false;
  const opts = { signal };
  root.addEventListener("pointerenter", () => (over = true), opts);
  root.addEventListener("pointerleave", () => (over = false), opts);
  globalThis.addEventListener?.(
    "keydown",
    (e: KeyboardEvent) => {
      if (!over || e.key !== "Escape" || e.defaultPrevented || editable(e.target)) return;
      const target = e.target instanceof Node ? e.target : null;
      if (target !== null && root.contains(target) && (target as Element).matches?.(".ow-map")) {
        return;
      }
      if (unpin()) e.preventDefault();
    },
    { signal, capture: true },
  );
}
