// Wires the probe together: the tool on the map (view.ts) draws regions, the queue
// (region.ts) sends them one at a time as `{type: "probe", id, region}` requests, and the answer
// is shown beside the map (result.ts).
import { describeRegion, ProbeQueue, probeMessage, type ProbeRegion } from "./region";
import { readProbeReply, ProbeResultView, type ProbeAnswer } from "./result";
import { ProbeView } from "./view";
import type { Requests } from "../shared/requests";
import type { Snapshot, SweepMode } from "../state/sync";

type Answer = ProbeAnswer | { error: string };

export class ProbeController {
  readonly view: ProbeView;
  readonly result = new ProbeResultView();
  private readonly queue: ProbeQueue<Answer>;
  /** The mode the probe was asked in, and what is shown (kept for redraws on new traits). */
  private mode: SweepMode = "occlude";
  private shown: { region: ProbeRegion; answer: Answer | null } | null = null;
  private image: unknown = null;

  constructor(
    requests: Requests,
    private readonly snapshot: () => Snapshot | null,
    frame: HTMLElement,
    signal: AbortSignal,
  ) {
    this.queue = new ProbeQueue<Answer>(
      (region, done) => {
        const { region: body, buffers } = probeMessage(region);
        requests.send("probe", { region: body }, (reply) => done(readProbeReply(reply)), buffers);
      },
      (region, answer) => this.display(region, answer),
    );
    this.view = new ProbeView(
      {
        region: (region) => {
          const s = this.snapshot();
          if (s === null || !s.kernel || s.noModel !== "") return;
          this.mode = s.mode;
          this.layerRegion(region);
          this.queue.request(region);
          // The panel keeps the last answered region and its numbers (they belong together)
          // and says a newer one is on its way, only while one is: a mouse-up on the box the
          // drag already asked for sends nothing, and its answer may be shown already.
          if (this.shown === null) this.display(region, null);
          else if (this.queue.pending) this.result.setPending();
        },
        off: () => this.clear(),
      },
      signal,
    );
    frame.append(this.view.layer);
  }

  /** A probe is drawn or shown: Escape clears it before it unpins anything. */
  get active(): boolean {
    return this.shown !== null;
  }

  clear(): void {
    this.queue.clear();
    this.view.clear();
    this.shown = null;
    this.result.hide();
  }

  /** New traits: a new image or mode makes the probe meaningless; else redraw its panel. */
  update(s: Snapshot): void {
    this.view.update(s.image, s.kernel, s.noModel);
    const off = !s.kernel || s.noModel !== "";
    if (s.image !== this.image || (this.shown !== null && s.mode !== this.mode) || off) {
      this.image = s.image;
      if (this.shown !== null) this.clear();
    }
  }

  private display(region: ProbeRegion, answer: Answer | null): void {
    const s = this.snapshot();
    if (s === null) return;
    this.shown = { region, answer };
    this.result.show(s, region, this.mode, answer);
    // An older region's answer while a newer one is on its way: both are true, say both.
    if (answer !== null && this.queue.pending) this.result.setPending();
  }

  /** The drawn region, for tests to tell which answer belongs to what is on the map. */
  private layerRegion(region: ProbeRegion): void {
    this.view.layer.dataset.region = describeRegion(region);
  }
}
