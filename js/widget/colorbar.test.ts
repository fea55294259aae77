import { describe, expect, it } from "vitest";
import { ColorbarView, colorbarCaption } from "./colorbar";
import type { ColorScale } from "../state/scales";

const diverging: ColorScale = { kind: "diverging", max: 0.2 };

describe("colour bar words", () => {
  it("says what a cell means in each mode", () => {
    expect(colorbarCaption(diverging, "cat")).toBe("Drop in P(cat) when the patch is occluded");
    expect(colorbarCaption(diverging, "cat", "reveal")).toBe(
      "Gain in P(cat) when only the patch is shown",
    );
  });

  it("rewrites its caption and ends when only the mode changes", () => {
    const bar = new ColorbarView();
    bar.update(diverging, "cat", 200, "occlude");
    expect(bar.element.textContent).toContain("occluding lowers it");
    bar.update(diverging, "cat", 200, "reveal");
    expect(bar.element.textContent).toContain("the patch alone raises it");
    expect(bar.element.textContent).not.toContain("occluding");
  });
});
