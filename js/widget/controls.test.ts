import { describe, expect, it } from "vitest";
import { progressText } from "./controls";

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
    // A saved result (the standalone page, from_result): no time to report.
    expect(
      progressText({ status: "done", progress: { done: 729, total: 729, elapsed: null } }),
    ).toBe("729/729 positions · done");
    expect(progressText({ status: "cancelled", progress: { done: 5, total: 9 } })).toContain(
      "cancelled",
    );
  });
});
