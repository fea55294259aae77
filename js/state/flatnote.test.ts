import { describe, expect, it } from "vitest";
import { FLAT_BELOW } from "./colormap";
import fixture from "../fixtures/flat_note.json";
import { flatSentence } from "./flatnote";

describe("flatSentence", () => {
  it("uses the engine's one threshold", () => {
    expect(FLAT_BELOW).toBe(fixture.flat_below);
  });

  // The engine (occlusion_widget/engine/flat.py) wrote each expected sentence.
  it.each(fixture.cases.map((c) => [c.what, c] as const))("%s: as the engine says it", (_, c) => {
    const values = c.sensitivity.map((v) => (v === null ? Number.NaN : v));
    const patch: [number, number] = [c.patch[0] ?? 0, c.patch[1] ?? 0];
    expect(flatSentence(values, patch, c.name, c.mode)).toBe(c.sentence);
  });

  it("covers flat, partial, reveal and non-flat maps", () => {
    const sentences = fixture.cases.map((c) => c.sentence);
    expect(sentences.filter((s) => s === "").length).toBeGreaterThanOrEqual(2);
    expect(sentences.some((s) => s.includes("(so far: 2 of 6 positions computed)"))).toBe(true);
    expect(sentences.some((s) => s.includes("patch shown alone"))).toBe(true);
  });
});
