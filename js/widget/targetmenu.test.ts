import { afterEach, describe, expect, it, vi } from "vitest";
import { readSnapshot } from "../state/sync";
import { foldName, matchingClasses, nextGroup, TargetMenu, VISIBLE_ROWS } from "./targetmenu";
import { encode, FakeModel, sampleState } from "../shared/testutil";

function snapshotWith(n: number, extra: Record<string, unknown> = {}) {
  const labels = Array.from({ length: n }, (_, i) => `class name ${i}`);
  labels[7] = "Tabby cat";
  labels[8] = "tiger cat";
  const base = new Float32Array(n).fill(0.0001);
  base[8] = 0.6;
  base[7] = 0.3;
  return readSnapshot(
    new FakeModel({
      ...sampleState(labels),
      base_probabilities: encode(base, [n]),
      target: 3,
      ...extra,
    }),
  );
}

afterEach(() => document.body.replaceChildren());

describe("matchingClasses", () => {
  const snapshot = snapshotWith(1000);

  it("orders 1000 classes by unoccluded probability", () => {
    const all = matchingClasses(snapshot, "");
    expect(all).toHaveLength(1000);
    expect(all.slice(0, 2)).toEqual([8, 7]);
  });

  it("filters by name case-insensitively, or by the exact index", () => {
    expect(matchingClasses(snapshot, "CAT")).toEqual([8, 7]);
    expect(matchingClasses(snapshot, "999")).toContain(999);
  });
});

describe("matchingClasses as people type", () => {
  const labels = ["golden_retriever", "Labrador-retriever", "tabby", "great white shark"];
  const snapshot = readSnapshot(
    new FakeModel({
      ...sampleState(labels),
      base_probabilities: encode(new Float32Array([0.4, 0.3, 0.2, 0.1]), [4]),
    }),
  );

  it("lets spaces match underscores and hyphens, case aside", () => {
    expect(matchingClasses(snapshot, "golden retriever")).toEqual([0]);
    expect(matchingClasses(snapshot, "Golden Retriever")).toEqual([0]);
    expect(matchingClasses(snapshot, "labrador retriever")).toEqual([1]);
    expect(matchingClasses(snapshot, "retriever")).toEqual([0, 1]);
    expect(matchingClasses(snapshot, "great_white")).toEqual([3]);
    expect(matchingClasses(snapshot, "  great   white ")).toEqual([3]);
  });

  it("folds a name the way it folds a query", () => {
    expect(foldName("Golden_Retriever")).toBe("golden retriever");
    expect(foldName("black-footed  ferret")).toBe("black footed ferret");
  });
});

describe("nextGroup", () => {
  it("picks one class on a plain click and toggles with a modifier", () => {
    expect(nextGroup([3], 5, false)).toEqual([5]);
    expect(nextGroup([3], 5, true)).toEqual([3, 5]);
    expect(nextGroup([3, 5], 3, true)).toEqual([5]);
    expect(nextGroup([3], 3, true)).toEqual([3]); // never empty
  });
});

describe("TargetMenu", () => {
  function mount(n: number, extra: Record<string, unknown> = {}) {
    const onTarget = vi.fn();
    const menu = new TargetMenu(onTarget, new AbortController().signal);
    document.body.append(menu.element);
    menu.update(snapshotWith(n, extra));
    return { menu, onTarget };
  }

  it("renders only the visible rows of 21,843 classes", () => {
    const { menu } = mount(21843);
    menu.search.dispatchEvent(new Event("focus"));
    const rows = menu.list.querySelectorAll(".ow-target-row:not([hidden])");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(VISIBLE_ROWS + 2);
    expect(menu.select.options.length).toBeLessThanOrEqual(21);
    // Searching keeps the list's size and still renders only what is in view.
    const height = menu.list.style.height;
    menu.search.value = "class name 1";
    menu.search.dispatchEvent(new Event("input"));
    expect(menu.list.style.height).toBe(height);
    expect(menu.list.querySelectorAll(".ow-target-row").length).toBeLessThanOrEqual(
      VISIBLE_ROWS + 2,
    );
  });

  it("picks a class with a click and builds a group with ctrl-click", () => {
    const { menu, onTarget } = mount(50);
    menu.search.dispatchEvent(new Event("focus"));
    const row = (cls: number) =>
      menu.list.querySelector<HTMLElement>(`.ow-target-row[data-class="${cls}"]`);
    row(7)?.dispatchEvent(new MouseEvent("mousedown", { bubbles: true }));
    expect(onTarget).toHaveBeenLastCalledWith([7]);
    menu.search.dispatchEvent(new Event("focus"));
    row(8)?.dispatchEvent(new MouseEvent("mousedown", { bubbles: true, ctrlKey: true }));
    expect(onTarget).toHaveBeenLastCalledWith([3, 8]);
  });

  it("moves through the list with the arrow keys and picks with Enter", () => {
    const { menu, onTarget } = mount(21843);
    menu.search.dispatchEvent(new Event("focus"));
    const key = (k: string) => menu.search.dispatchEvent(new KeyboardEvent("keydown", { key: k }));
    for (let i = 0; i < 14; i++) key("ArrowDown");
    // Row 14 is in view (the list scrolled) and named as the active option.
    const active = menu.list.querySelector<HTMLElement>(".ow-target-row.ow-active");
    expect(active).not.toBeNull();
    expect(menu.search.getAttribute("aria-activedescendant")).toBe(active?.id);
    key("Enter");
    expect(onTarget).toHaveBeenLastCalledWith([Number(active?.dataset.class)]);
    expect(menu.list.querySelectorAll(".ow-target-row").length).toBeLessThanOrEqual(
      VISIBLE_ROWS + 2,
    );
  });

  it("clears the find box when the dropdown picks another target", () => {
    const { menu, onTarget } = mount(50);
    menu.search.dispatchEvent(new Event("focus"));
    menu.search.value = "tiger";
    menu.search.dispatchEvent(new Event("input"));
    expect(menu.list.querySelectorAll(".ow-target-row:not([hidden])")).toHaveLength(1);
    menu.select.value = "7";
    menu.select.dispatchEvent(new Event("change"));
    expect(onTarget).toHaveBeenLastCalledWith([7]);
    expect(menu.search.value).toBe("");
    // Opened again, the list shows every class, not the old search's.
    menu.search.dispatchEvent(new Event("focus"));
    expect(menu.list.querySelectorAll(".ow-target-row:not([hidden])").length).toBeGreaterThan(1);
  });

  it("shows a group as one entry named A + B in the dropdown", () => {
    const { menu } = mount(50, { target: [7, 8] });
    expect(menu.select.value).toBe("group:7,8");
    expect(menu.select.selectedOptions[0]?.text).toBe("Tabby cat + tiger cat");
  });
});
