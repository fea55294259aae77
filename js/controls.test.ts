import { describe, expect, it } from "vitest";
import { progressText, targetOptions } from "./controls";
import { readSnapshot } from "./sync";
import { encode, FakeModel, sampleState } from "./testutil";

describe("targetOptions", () => {
  const labels = Array.from({ length: 1000 }, (_, i) => `class name ${i}`);
  labels[7] = "Tabby cat";
  labels[8] = "tiger cat";
  const base = new Float32Array(1000).fill(0.0001);
  base[8] = 0.6;
  base[7] = 0.3;
  const snapshot = readSnapshot(
    new FakeModel({ ...sampleState(labels), base_probabilities: encode(base, [1000]), target: 3 }),
  );

  it("orders 1000 classes by unoccluded probability with their probabilities", () => {
    const options = targetOptions(snapshot, "");
    expect(options).toHaveLength(1000);
    expect(options[0]).toEqual({ value: "8", text: "tiger cat — 0.600", match: true });
    expect(options[1]?.value).toBe("7");
  });

  it("filters by name case-insensitively and keeps the current target listed", () => {
    const options = targetOptions(snapshot, "CAT");
    expect(options.filter((o) => o.match).map((o) => o.value)).toEqual(["8", "7"]);
    expect(options.map((o) => o.value)).toContain("3");
    expect(options.find((o) => o.value === "3")?.match).toBe(false);
  });
});

describe("progressText", () => {
  it("says done/total positions and the time left while running", () => {
    expect(progressText({ status: "running", progress: { done: 10, total: 729, eta: 12.2 } })).toBe(
      "10/729 positions · ~13s left",
    );
    expect(
      progressText({ status: "running", progress: { done: 0, total: 729, eta: null } }),
    ).toContain("estimating");
    expect(
      progressText({ status: "done", progress: { done: 729, total: 729, elapsed: 3.25 } }),
    ).toBe("729/729 positions · done in 3.3s");
    expect(progressText({ status: "cancelled", progress: { done: 5, total: 9 } })).toContain(
      "cancelled",
    );
  });
});
