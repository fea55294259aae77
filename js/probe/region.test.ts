import { describe, expect, it, vi } from "vitest";
import { composeSeen } from "../state/compose";
import {
  coveredPixels,
  describeRegion,
  dragBox,
  paintDisc,
  paintStroke,
  probeMessage,
  ProbeQueue,
  type ProbeRegion,
} from "./region";

function image(width: number, height: number, value: number) {
  return { width, height, data: new Uint8ClampedArray(width * height * 4).fill(value) };
}

describe("dragBox", () => {
  it("snaps a drag outwards to whole pixels in either direction", () => {
    expect(dragBox([1.5, 2.2], [4.1, 3.9], 8, 5)).toEqual([2, 1, 2, 4]);
    expect(dragBox([4.1, 3.9], [1.5, 2.2], 8, 5)).toEqual([2, 1, 2, 4]);
  });

  it("clips to the image and keeps at least one pixel (a click probes one pixel)", () => {
    expect(dragBox([-3, -3], [20, 20], 8, 5)).toEqual([0, 0, 5, 8]);
    expect(dragBox([3.2, 1.7], [3.2, 1.7], 8, 5)).toEqual([1, 3, 1, 1]);
    expect(dragBox([9, 6], [12, 9], 8, 5)).toEqual([4, 7, 1, 1]);
  });
});

describe("brush", () => {
  it("paints the pixels whose centres lie within the radius", () => {
    const mask = paintDisc(new Uint8Array(25), 5, 5, [2.5, 2.5], 1);
    expect(Array.from(mask)).toEqual([
      0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });

  it("leaves no gap along a fast stroke", () => {
    const mask = paintStroke(new Uint8Array(40), 20, 2, [0.5, 0.5], [19.5, 0.5], 0.6);
    expect(Array.from(mask.subarray(0, 20))).toEqual(new Array(20).fill(1));
    expect(Array.from(mask.subarray(20))).toEqual(new Array(20).fill(0));
  });
});

describe("coveredPixels", () => {
  it("hands a box over as the geometry's Box and a mask as it was painted", () => {
    const box: ProbeRegion = { kind: "box", box: [1, 2, 3, 4] };
    expect(coveredPixels(box)).toEqual({ top: 1, left: 2, height: 3, width: 4 });
    const mask: ProbeRegion = {
      kind: "mask",
      mask: new Uint8Array([1, 0, 0, 0, 0, 1]),
      width: 3,
      height: 2,
    };
    expect(coveredPixels(mask)).toBe(mask);
    expect(describeRegion(mask)).toBe("mask of 2 pixels");
  });

  it("composes a probe box as the inspector composes a grid cell of the same pixels", () => {
    const picture = image(3, 2, 10);
    const baseline = image(3, 2, 200);
    const box: ProbeRegion = { kind: "box", box: [0, 1, 1, 2] };
    const red = (px: Uint8ClampedArray) => Array.from({ length: 6 }, (_, i) => px[i * 4]);
    const seen = (mode: "occlude" | "reveal") =>
      red(composeSeen(picture, baseline, coveredPixels(box), mode));
    expect(seen("occlude")).toEqual([10, 200, 200, 10, 10, 10]);
    expect(seen("reveal")).toEqual([200, 10, 10, 200, 200, 200]);
  });
});

describe("probeMessage", () => {
  it("sends a box as JSON and a mask as one uint8 buffer", () => {
    expect(probeMessage({ kind: "box", box: [1, 2, 3, 4] })).toEqual({
      region: { box: [1, 2, 3, 4] },
      buffers: [],
    });
    const mask = new Uint8Array([0, 1, 1, 0]);
    const message = probeMessage({ kind: "mask", mask, width: 2, height: 2 });
    expect(message.region).toEqual({ mask: true });
    expect(Array.from(message.buffers[0] ?? [])).toEqual([0, 1, 1, 0]);
  });
});

describe("ProbeQueue", () => {
  const box = (n: number): ProbeRegion => ({ kind: "box", box: [n, 0, 1, 1] });

  it("keeps one probe in flight and sends only the latest of those asked meanwhile", () => {
    const finish: ((answer: string) => void)[] = [];
    const sent: number[] = [];
    const shown = vi.fn();
    const queue = new ProbeQueue<string>((region, done) => {
      sent.push(region.kind === "box" ? region.box[0] : -1);
      finish.push(done);
    }, shown);
    queue.request(box(1));
    queue.request(box(2));
    queue.request(box(3));
    expect(sent).toEqual([1]);
    finish[0]?.("a");
    expect(shown).toHaveBeenCalledWith(box(1), "a");
    expect(sent).toEqual([1, 3]); // 2 was replaced by 3 while 1 was out
    finish[1]?.("c");
    expect(shown).toHaveBeenLastCalledWith(box(3), "c");
    expect(queue.busy).toBe(false);
  });

  it("does not ask again for the box in flight or just answered (mouse-up where the drag was)", () => {
    const finish: ((answer: string) => void)[] = [];
    const sent: number[] = [];
    const queue = new ProbeQueue<string>((region, done) => {
      sent.push(region.kind === "box" ? region.box[0] : -1);
      finish.push(done);
    }, vi.fn());
    queue.request(box(1));
    queue.request(box(2));
    queue.request(box(1)); // back where the one in flight is: nothing new to ask
    finish[0]?.("a");
    expect(sent).toEqual([1]);
    queue.request(box(1)); // the mouse-up on the box just answered
    expect(sent).toEqual([1]);
    queue.request(box(5));
    expect(sent).toEqual([1, 5]);
  });

  it("drops what is waiting and ignores the answer in flight after clear (Escape)", () => {
    const finish: ((answer: string) => void)[] = [];
    const shown = vi.fn();
    const queue = new ProbeQueue<string>((_r, done) => finish.push(done), shown);
    queue.request(box(1));
    queue.request(box(2));
    queue.clear();
    finish[0]?.("late");
    expect(shown).not.toHaveBeenCalled();
    expect(finish).toHaveLength(1);
    queue.request(box(4));
    finish[1]?.("d");
    expect(shown).toHaveBeenCalledWith(box(4), "d");
  });
});
