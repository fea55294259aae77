// The Target menu: a short dropdown of the most probable classes, and a searchable list of every
// class in which several can be ticked to explain their summed probability (a group).
//
// The list is virtualised: with 21,843 classes only the rows in view exist in the DOM, at a fixed
// row height, so picking a target or typing a query never builds thousands of elements and never
// changes the menu's size.
import { formatProbability, h, setText } from "../shared/dom";
import { classesByBaseProbability, labelOf, targetLabel } from "../state/selectors";
import type { Snapshot } from "../state/sync";

/** Classes the dropdown offers: the most probable ones (the list finds the rest). */
export const QUICK_CLASSES = 20;
/** Height of one list row in CSS pixels; the list never measures its rows. */
export const ROW_HEIGHT = 24;
/** Rows in view; the list's height is ROW_HEIGHT * VISIBLE_ROWS. */
export const VISIBLE_ROWS = 10;

let menus = 0;

const folded = new WeakMap<readonly string[], string[]>();

/**
 * A name or a query as the search compares them: lower case, and underscores, hyphens and runs
 * of spaces all one space, so "golden retriever" finds `golden_retriever` and `Golden-Retriever`.
 */
export function foldName(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\s_-]+/g, " ")
    .trim();
}

function foldLabels(labels: readonly string[]): string[] {
  let hit = folded.get(labels);
  if (hit === undefined) {
    hit = labels.map(foldName);
    folded.set(labels, hit);
  }
  return hit;
}

/**
 * Classes matching a search on the name (case, underscores and hyphens aside: see foldName) or
 * the exact index, most probable first; every class when the query is empty.
 */
export function matchingClasses(
  snapshot: Pick<Snapshot, "labels" | "base">,
  query: string,
): readonly number[] {
  const order = classesByBaseProbability(snapshot);
  const q = foldName(query);
  if (q === "") return order;
  const names = foldLabels(snapshot.labels);
  return order.filter((cls) => (names[cls] ?? `class ${cls}`).includes(q) || String(cls) === q);
}

/** The group after a click: a plain click picks one class; a toggle adds or removes it. */
export function nextGroup(current: readonly number[], cls: number, toggle: boolean): number[] {
  if (!toggle) return [cls];
  const next = current.includes(cls) ? current.filter((c) => c !== cls) : [...current, cls];
  return next.length === 0 ? [cls] : next.sort((a, b) => a - b);
}

function optionText(snapshot: Snapshot, cls: number): string {
  const p = snapshot.base?.[cls];
  const name = labelOf(snapshot, cls);
  return p === undefined ? name : `${name} — ${formatProbability(p)}`;
}

export class TargetMenu {
  readonly element: HTMLDivElement;
  /** The most probable classes, plus the current target (or group) when it is not among them. */
  readonly select = h("select", { testid: "ow-target", attrs: { "aria-label": "Target class" } });
  readonly search = h("input", {
    className: "ow-search",
    testid: "ow-target-search",
    attrs: {
      type: "search",
      placeholder: "find class…",
      "aria-label": "Find a target class; tick several to sum their probabilities",
    },
  });
  readonly list = h("div", {
    className: "ow-target-list",
    testid: "ow-target-list",
    attrs: { role: "listbox", "aria-multiselectable": "true", tabindex: "-1" },
  });
  private readonly spacer = h("div", { className: "ow-target-spacer" });
  private readonly count = h("div", { className: "ow-target-count" });
  private readonly panel = h("div", { className: "ow-target-panel" });
  private readonly rows: HTMLDivElement[] = [];
  private matches: readonly number[] = [];
  private query = "";
  private last: Snapshot | null = null;
  private selectKey: unknown[] = [];
  private listKey: unknown[] = [];
  private firstRow = 0;
  /** The row the arrow keys are on (an index into the matches). */
  private active = 0;
  private readonly id = `ow-targets-${++menus}`;

  constructor(
    private readonly onTarget: (classes: number[]) => void,
    signal: AbortSignal,
  ) {
    const opts = { signal };
    this.list.style.height = `${ROW_HEIGHT * VISIBLE_ROWS}px`;
    this.list.id = this.id;
    this.search.setAttribute("role", "combobox");
    this.search.setAttribute("aria-controls", this.id);
    this.search.setAttribute("aria-expanded", "false");
    this.list.append(this.spacer);
    this.panel.append(this.count, this.list);
    this.panel.hidden = true;
    this.element = h("div", { className: "ow-field ow-target-field" }, [
      h("span", { className: "ow-field-label", text: "Target", attrs: { "aria-hidden": "true" } }),
      this.select,
      h("div", { className: "ow-target-find" }, [this.search, this.panel]),
    ]);

    this.select.addEventListener(
      "change",
      () => {
        const value = this.select.value;
        if (value.startsWith("group:")) return; // the current group: nothing to change
        // A search for another class is over once the dropdown picks one.
        this.clearSearch();
        onTarget([Number(value)]);
      },
      opts,
    );
    const open = (): void => {
      if (!this.panel.hidden) return;
      this.setOpen(true);
      this.renderList(true);
    };
    this.search.addEventListener("focus", open, opts);
    this.search.addEventListener(
      "input",
      () => {
        this.query = this.search.value;
        this.setOpen(true);
        this.active = 0;
        this.scrollTo(0);
        this.renderList(true);
      },
      opts,
    );
    this.search.addEventListener(
      "keydown",
      (e) => {
        if (e.key === "Escape") {
          this.setOpen(false);
        } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          e.preventDefault();
          if (this.panel.hidden) open();
          const last = this.matches.length - 1;
          this.active = Math.max(0, Math.min(last, this.active + (e.key === "ArrowDown" ? 1 : -1)));
          if (this.active < this.firstRow) this.scrollTo(this.active);
          else if (this.active >= this.firstRow + VISIBLE_ROWS) {
            this.scrollTo(this.active - VISIBLE_ROWS + 1);
          }
          this.renderList(false);
        } else if (e.key === "Enter") {
          e.preventDefault(); // Enter picks the row the arrows are on (the best match at first)
          const cls = this.matches[this.active];
          if (cls !== undefined) this.pick(cls, e.ctrlKey || e.metaKey || e.shiftKey);
        }
      },
      opts,
    );
    this.element.addEventListener(
      "focusout",
      (e) => {
        const to = e.relatedTarget;
        if (!(to instanceof Node) || !this.element.contains(to)) this.setOpen(false);
      },
      opts,
    );
    this.list.addEventListener(
      "scroll",
      () => {
        const first = Math.floor(this.list.scrollTop / ROW_HEIGHT);
        if (first !== this.firstRow) {
          this.firstRow = first;
          this.renderList(false);
        }
      },
      opts,
    );
    // mousedown, not click: the search box keeps the focus, so the list stays open for ticking.
    this.list.addEventListener(
      "mousedown",
      (e) => {
        const row = (e.target as Element | null)?.closest<HTMLElement>(".ow-target-row");
        if (row === null || row === undefined) return;
        e.preventDefault();
        const toggle =
          e.ctrlKey ||
          e.metaKey ||
          e.shiftKey ||
          (e.target as Element).classList.contains("ow-target-check");
        this.pick(Number(row.dataset.class), toggle);
      },
      opts,
    );
  }

  private pick(cls: number, toggle: boolean): void {
    const current = this.last?.targets ?? [];
    const next = nextGroup(current, cls, toggle);
    if (!toggle) this.setOpen(false);
    this.onTarget(next);
  }

  private clearSearch(): void {
    this.search.value = "";
    this.query = "";
    this.active = 0;
    this.setOpen(false);
  }

  private setOpen(open: boolean): void {
    this.panel.hidden = !open;
    this.search.setAttribute("aria-expanded", String(open));
    if (!open) this.search.removeAttribute("aria-activedescendant");
  }

  /** Scroll so `row` is the first in view; rows are drawn from the index, never measured. */
  private scrollTo(row: number): void {
    this.firstRow = Math.max(0, row);
    this.list.scrollTop = this.firstRow * ROW_HEIGHT;
  }

  private updateSelect(s: Snapshot): void {
    const key = [s.labels, s.base, s.targets];
    if (key.every((v, i) => v === this.selectKey[i])) return;
    this.selectKey = key;
    const quick = classesByBaseProbability(s).slice(0, QUICK_CLASSES);
    const options: [string, string][] = quick.map((cls) => [String(cls), optionText(s, cls)]);
    let value = String(s.targets[0] ?? 0);
    if (s.targets.length > 1) {
      value = `group:${s.targets.join(",")}`;
      options.unshift([value, targetLabel(s)]);
    } else if (!quick.includes(s.targets[0] ?? 0)) {
      options.unshift([value, optionText(s, s.targets[0] ?? 0)]);
    }
    this.select.replaceChildren(
      ...options.map(([v, text]) => {
        const option = document.createElement("option");
        option.value = v;
        option.text = text; // text, never HTML
        return option;
      }),
    );
    this.select.value = value;
    this.select.title = targetLabel(s);
  }

  /** Draw the rows in view; `refilter` when the query or the classes changed. */
  private renderList(refilter: boolean): void {
    const s = this.last;
    if (s === null || this.panel.hidden) return;
    if (refilter) {
      this.matches = matchingClasses(s, this.query);
      this.spacer.style.height = `${this.matches.length * ROW_HEIGHT}px`;
      setText(
        this.count,
        `${this.matches.length} class${this.matches.length === 1 ? "" : "es"} · ` +
          "ctrl/shift-click or tick to sum several",
      );
      this.search.setAttribute("aria-description", `${this.matches.length} classes listed`);
    }
    const wanted = Math.min(VISIBLE_ROWS + 2, this.matches.length - this.firstRow);
    while (this.rows.length < wanted) {
      const check = h("span", { className: "ow-target-check", attrs: { "aria-hidden": "true" } });
      const row = h("div", { className: "ow-target-row", attrs: { role: "option" } }, [
        check,
        h("span", { className: "ow-target-name" }),
      ]);
      row.style.height = `${ROW_HEIGHT}px`;
      this.rows.push(row);
      this.list.append(row);
    }
    this.rows.forEach((row, j) => {
      const index = this.firstRow + j;
      const cls = this.matches[index];
      row.hidden = cls === undefined || j >= wanted;
      if (cls === undefined) return;
      const chosen = s.targets.includes(cls);
      row.dataset.class = String(cls);
      row.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
      row.setAttribute("aria-selected", String(chosen));
      row.classList.toggle("ow-chosen", chosen);
      row.classList.toggle("ow-active", index === this.active);
      row.id = `${this.id}-${j}`;
      if (index === this.active) this.search.setAttribute("aria-activedescendant", row.id);
      const name = row.lastElementChild as HTMLElement;
      const text = optionText(s, cls);
      setText(name, text);
      name.title = text;
      setText(row.firstElementChild as HTMLElement, chosen ? "☑" : "☐");
    });
  }

  update(s: Snapshot): void {
    this.last = s;
    this.updateSelect(s);
    const key = [s.labels, s.base, s.targets];
    const changed = key.some((v, i) => v !== this.listKey[i]);
    this.listKey = key;
    if (changed) this.renderList(true);
  }
}
