import { describe, expect, it } from "vitest";
import { estimateWidth, exportLayout, textExtent, wrapText, type ExportParts } from "./export_png";
import { DIVERGING } from "../state/colormap";

function parts(over: Partial<ExportParts> = {}): ExportParts {
  const source = document.createElement("canvas");
  return {
    title: "Predicted class with each patch occluded, for the image the model received",
    note: "",
    map: { source, width: 224, height: 224 },
    colorbar: {
      ramp: DIVERGING,
      caption: "Drop in P(tusker) when the patch is occluded",
      ticks: [
        { at: 0, label: "-0.16" },
        { at: 0.5, label: "0" },
        { at: 1, label: "+0.16" },
      ],
    },
    legend: [],
    inspector: null,
    ...over,
  };
}

function texts(layout: ReturnType<typeof exportLayout>) {
  return layout.items.flatMap((i) => (i.kind === "text" ? [i] : []));
}

describe("the exported picture cuts nothing", () => {
  it("keeps every text, the colour bar's end labels included, inside the picture", () => {
    const layout = exportLayout(parts());
    for (const item of texts(layout)) {
      const { left, right } = textExtent(item);
      expect(left).toBeGreaterThanOrEqual(0);
      expect(right).toBeLessThanOrEqual(layout.width);
    }
    const last = texts(layout).find((t) => t.text === "+0.16");
    expect(last?.align).toBe("right"); // it ends where the bar ends
  });

  it("wraps a long title onto lines instead of running off the edge", () => {
    const layout = exportLayout(parts());
    const bold = texts(layout).filter((t) => t.bold);
    expect(bold.length).toBeGreaterThan(1);
    expect(bold.map((t) => t.text).join(" ")).toBe(parts().title);
    const ys = bold.map((t) => t.y);
    expect(new Set(ys).size).toBe(ys.length); // one line each, stacked
    // the map starts below the last title line
    const map = layout.items.find((i) => i.kind === "image");
    expect(map?.y).toBeGreaterThan(Math.max(...ys));
  });

  it("grows the picture for a word wider than the map rather than cutting it", () => {
    const word = "x".repeat(80);
    const layout = exportLayout(parts({ title: word, map: { ...parts().map, width: 32 } }));
    const item = texts(layout).find((t) => t.text === word);
    expect(item).toBeDefined();
    expect(textExtent(item!).right).toBeLessThanOrEqual(layout.width);
  });

  it("wraps at spaces with the measure it is given", () => {
    const measure = (t: string) => t.length * 10;
    expect(wrapText("aa bb cc", 50, measure)).toEqual(["aa bb", "cc"]);
    expect(wrapText("", 50, measure)).toEqual([""]);
    expect(estimateWidth("abc", true)).toBeGreaterThan(estimateWidth("abc", false));
  });
});
