import { describe, expect, it, vi } from "vitest";
import { PageModel } from "../page/model";
import { Emitter } from "./emitter";
import { FakeModel } from "./testutil";

describe("Emitter", () => {
  it("calls the handlers of the event emitted, with its arguments, in the order added", () => {
    const events = new Emitter();
    const calls: unknown[][] = [];
    events.on("change:view", (...args) => calls.push(["first", ...args]));
    events.on("change:view", (...args) => calls.push(["second", ...args]));
    events.on("change:target", () => calls.push(["other event"]));
    events.emit("change:view", "model", "probability");
    expect(calls).toEqual([
      ["first", "model", "probability"],
      ["second", "model", "probability"],
    ]);
  });

  it("off drops one handler, one event's handlers, or every handler (anywidget's dialect)", () => {
    const events = new Emitter();
    const a = vi.fn();
    const b = vi.fn();
    events.on("x", a);
    events.on("x", b);
    events.on("y", a);
    events.off("x", a);
    events.emit("x");
    expect([a.mock.calls.length, b.mock.calls.length]).toEqual([0, 1]);
    events.off("x");
    events.emit("x");
    expect(b).toHaveBeenCalledTimes(1);
    expect(events.listenerCount()).toBe(1);
    events.off();
    events.emit("y");
    expect(a).not.toHaveBeenCalled();
    expect(events.listenerCount()).toBe(0);
  });

  it("a handler removed during an emit still runs for that emit, not the next", () => {
    const events = new Emitter();
    const late = vi.fn();
    events.on("x", () => events.off("x", late));
    events.on("x", late);
    events.emit("x");
    events.emit("x");
    expect(late).toHaveBeenCalledTimes(1);
  });

  it("is the one emitter of the page's model and the tests' fake model", () => {
    const page = new PageModel({
      format: "occlusion-widget-page/1",
      traits: {},
      probabilities: null,
      target_maps: {},
      note: "",
    });
    expect(page).toBeInstanceOf(Emitter);
    expect(new FakeModel({})).toBeInstanceOf(Emitter);
  });
});
