import { describe, expect, it } from "vitest";
import palettes from "../../occlusion_widget/data/palettes.json";
import { SCALE_LABELS, VIEW_LABELS } from "../widget/controls";
import { FakeModel, sampleState } from "../shared/testutil";
import { asColorScale, COLOR_SCALES, readSnapshot, VIEWS } from "./sync";

describe("the views and colour scales", () => {
  it("come from data/palettes.json, the file Python's palette.VIEWS and COLOR_SCALES read", () => {
    expect(palettes.views).toEqual(["sensitivity", "probability", "predicted_class"]);
    expect(VIEWS).toBe(palettes.views);
    expect(COLOR_SCALES).toBe(palettes.color_scales);
  });

  it("name exactly what the code is typed with: each has a menu label, none is left over", () => {
    expect(Object.keys(VIEW_LABELS).sort()).toEqual([...VIEWS].sort());
    expect(Object.keys(SCALE_LABELS).sort()).toEqual([...COLOR_SCALES].sort());
  });

  it("every listed view and scale reads back from the model; anything else falls back", () => {
    for (const view of VIEWS) {
      expect(readSnapshot(new FakeModel({ ...sampleState(), view })).view).toBe(view);
    }
    for (const scale of COLOR_SCALES) {
      const model = new FakeModel({ ...sampleState(), color_scale: scale });
      expect(readSnapshot(model).colorScale).toBe(scale);
    }
    expect(readSnapshot(new FakeModel({ ...sampleState(), view: "heat" })).view).toBe(
      "sensitivity",
    );
    expect(asColorScale("log")).toBe("auto");
  });
});
