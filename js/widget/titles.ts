// The words around the map: its title (which depends on the view and on occlude / reveal mode),
// the badge over it while it waits, and the frame scheduler that coalesces redraws.
import { targetLabel } from "../state/selectors";
import type { Snapshot } from "../state/sync";

/** "with each patch occluded" or, in reveal mode, "with only each patch shown". */
export function patchPhrase(s: Pick<Snapshot, "mode">): string {
  return s.mode === "reveal" ? "with only each patch shown" : "with each patch occluded";
}

export function mapTitle(s: Snapshot): string {
  const target = targetLabel(s);
  switch (s.view) {
    case "probability":
      return `P(${target}) ${patchPhrase(s)}`;
    case "predicted_class":
      return `Predicted class ${patchPhrase(s)}`;
    default:
      return s.mode === "reveal"
        ? `Where the patch alone raises P(${target}) above the baseline's`
        : `Where occlusion lowers P(${target})`;
  }
}

export function badgeText(s: Snapshot, stale: boolean): string {
  if (s.image === null) return "waiting for the image…";
  if (stale) return `loading the map for ${targetLabel(s)}…`;
  if (s.status === "running") {
    const { done, total } = s.progress;
    return total ? `computing… ${done ?? 0}/${total}` : "computing…";
  }
  if (s.grid === null || (s.targetMap === null && s.topkIndices === null)) {
    return s.status === "error" ? "no result (see the error above)" : "computing…";
  }
  if (s.mode === "reveal" && s.view === "sensitivity" && s.baselineProbabilities === null) {
    return "reveal mode: the baseline's probabilities have not arrived (see the P view)";
  }
  return "";
}

export function frameScheduler(callback: () => void): { schedule(): void; cancel(): void } {
  let handle: number | null = null;
  const raf =
    typeof globalThis.requestAnimationFrame === "function"
      ? (cb: () => void): number => globalThis.requestAnimationFrame(cb)
      : (cb: () => void): number => Number(setTimeout(cb, 16));
  const caf =
    typeof globalThis.cancelAnimationFrame === "function"
      ? (id: number): void => globalThis.cancelAnimationFrame(id)
      : (id: number): void => clearTimeout(id);
  return {
    schedule() {
      if (handle !== null) return;
      handle = raf(() => {
        handle = null;
        callback();
      });
    },
    cancel() {
      if (handle !== null) caf(handle);
      handle = null;
    },
  };
}
