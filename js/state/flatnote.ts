// The sentence a map says when it says nothing: the twin of occlusion_widget/engine/flat.py,
// held to the same sentences by fixtures/flat_note.json (tests/helpers/flat_note_fixture.py
// writes it).
import { FLAT_BELOW } from "./colormap";

/**
 * "no 8×8 patch changes P(sky) by more than 0.001", with " (so far: N of M positions computed)"
 * while positions are missing, or "" when no position is computed or some change is larger than
 * FLAT_BELOW. `sensitivity` is the change per position, NaN where not computed.
 */
export function flatSentence(
  sensitivity: ArrayLike<number>,
  patch: readonly [number, number],
  targetName: string,
  mode: string,
): string {
  let largest = -1;
  let computed = 0;
  for (let i = 0; i < sensitivity.length; i++) {
    const v = sensitivity[i] ?? Number.NaN;
    if (!Number.isFinite(v)) continue;
    computed++;
    largest = Math.max(largest, Math.abs(v));
  }
  if (computed === 0 || largest > FLAT_BELOW) return "";
  const what = mode === "reveal" ? "patch shown alone" : "patch";
  const soFar =
    computed < sensitivity.length
      ? ` (so far: ${computed} of ${sensitivity.length} positions computed)`
      : "";
  return `no ${patch[0]}×${patch[1]} ${what} changes P(${targetName}) by more than ${FLAT_BELOW}${soFar}`;
}
