import { describe, expect, it } from "vitest";
import { FakeModel, sampleState } from "../shared/testutil";
import { readSnapshot } from "../state/sync";
import { InspectorView } from "../widget/inspector";
import { ProbeResultView } from "./result";

describe("ProbeResultView", () => {
  it("draws what the model saw as the inspector draws a cell: same size, same pixelation", () => {
    const s = readSnapshot(new FakeModel(sampleState()));
    const inspector = new InspectorView();
    inspector.update(s, [0, 0], true);
    const probe = new ProbeResultView();
    probe.show(s, { kind: "box", box: [0, 0, 3, 2] }, "occlude", null);
    const [a, b] = [inspector.canvas, probe.canvas];
    expect([b.width, b.height]).toEqual([8, 5]);
    expect(b.style.width).toBe(a.style.width);
    expect(b.classList.contains("ow-pixelated")).toBe(a.classList.contains("ow-pixelated"));
    expect(b.classList.contains("ow-pixelated")).toBe(true); // 8 px wide, drawn enlarged
  });
});
