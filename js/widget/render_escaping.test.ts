// Class names are user data: they must reach the page as text and never run.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RenderProps } from "@anywidget/types";
import widget from "./render";
import { FakeModel, sampleState } from "../shared/testutil";
import type { ModelTraits } from "../state/sync";

const EVIL = "<img src=x onerror=alert(1)>";

beforeEach(() => {
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
});
afterEach(() => {
  vi.restoreAllMocks();
  document.body.replaceChildren();
});

describe("label escaping", () => {
  it("renders a hostile label literally in the select, legend and inspector", async () => {
    const alert = vi.fn();
    vi.stubGlobal("alert", alert);
    const model = new FakeModel({
      ...sampleState([EVIL, "dog", "car"]),
      view: "predicted_class",
      selected: [0, 0],
      error: `bad value ${EVIL}`,
      baseline_options: ["gray", EVIL],
    });
    const el = document.createElement("div");
    document.body.appendChild(el);
    widget.render({ model, el, experimental: {} } as unknown as RenderProps<ModelTraits>);
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(el.querySelector("img")).toBeNull();
    expect(document.querySelector("img")).toBeNull();
    const target = el.querySelector<HTMLSelectElement>('[data-testid="ow-target"]');
    expect(target?.options[0]?.text).toBe(`${EVIL} — 0.700`);
    const legend = el.querySelector('[data-testid="ow-legend-entry"]');
    expect(legend?.textContent).toContain(EVIL);
    const row = el.querySelector('[data-testid="ow-prob-row"]');
    expect(row?.textContent).toContain(EVIL);
    expect(el.querySelector('[data-testid="ow-predicted-class"]')?.textContent).toContain(EVIL);
    expect(el.querySelector('[data-testid="ow-error"]')?.textContent).toBe(`bad value ${EVIL}`);
    expect(el.textContent).toContain(`P(${EVIL})`);
    expect(alert).not.toHaveBeenCalled();
    vi.unstubAllGlobals();
  });
});
