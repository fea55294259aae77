"""The probe phase of ``bench_hover.py``: mouse-up to the probe panel painted, and coalescing.

With the probe tool on, each drag is a mouse-down, a run of moves at about 60 Hz and a mouse-up,
all through Chromium's input pipeline. The page records, per drag,

    latency = (end of the first frame after the panel shows the released box answered)
              - mouseup.timeStamp

("answered": the panel's title names the released box and its caption no longer says
"probing…"). The kernel side wraps the message handler's model call and logs every probe it
runs, so the figure splits into

    wait       mouse-up -> the kernel starts the final box's model call (the probe still in
               flight from the drag, then the request's trip to the kernel); negative when the
               answer shown is the last move's probe of the same box, already under way
    model      the kernel's call (one forward pass and its region / baseline work)
    back       the reply's trip to the page and the panel's update (split at the first
               websocket message the page receives after the call: "to page", "in page")
    paint      -> the end of the frame that shows it

and it counts the model calls per drag against the moves per drag: a drag asks on every move, the
page keeps one probe in flight and only the newest region waiting, so the calls stay near
(drag time / call time) however many moves there are.
"""

from __future__ import annotations

import itertools
import random
import statistics
import time
from typing import Any

#: Kernel side: log each probe's model call (epoch ms start, end, and the box it ran on).
KERNEL_LOG = """
import time as _ow_time
import occlusion_widget.widget.messages as _ow_messages
_ow_probe_log = []
_ow_probe_call = _ow_messages.probe_session
def _ow_logged_probe(session, region):
    start = _ow_time.time() * 1000
    try:
        return _ow_probe_call(session, region)
    finally:
        box = [int(v) for v in region] if isinstance(region, tuple) else None
        _ow_probe_log.append([start, _ow_time.time() * 1000, box])
_ow_messages.probe_session = _ow_logged_probe
"""

#: Page side: per drag, [mouse-up created, mouse-up handled, final answer shown, painted] in
#: epoch ms, plus the moves made with the button down.
PAGE_JS = """
([layer, panel, imageWidth, imageHeight]) => {
  // Wall-clock ms, comparable with the kernel's time.time() (performance.timeOrigin can be
  // tens of ms off the system clock, so anchor to Date.now() once).
  const offset = Date.now() - performance.now();
  const epoch = (t) => offset + t;
  const state = window.__owProbe = {drags: [], moves: 0, boxes: []};
  let down = null, pending = null;
  const point = (e) => {
    const r = layer.getBoundingClientRect();
    return [(e.clientX - r.left) / r.width * imageWidth,
            (e.clientY - r.top) / r.height * imageHeight];
  };
  // The widget's own rule (js/probe/region.ts dragBox), so the page knows
  // which title means "answered".
  const dragBox = (a, b) => {
    const [W, H] = [imageWidth, imageHeight];
    const cx = (v) => Math.min(W, Math.max(0, v));
    const cy = (v) => Math.min(H, Math.max(0, v));
    let left = Math.floor(cx(Math.min(a[0], b[0]))), top = Math.floor(cy(Math.min(a[1], b[1])));
    let right = Math.ceil(cx(Math.max(a[0], b[0]))), bottom = Math.ceil(cy(Math.max(a[1], b[1])));
    if (right <= left) [left, right] = left >= W ? [W - 1, W] : [left, left + 1];
    if (bottom <= top) [top, bottom] = top >= H ? [H - 1, H] : [top, top + 1];
    return [top, left, bottom - top, right - left];
  };
  layer.addEventListener("mousedown", (e) => { down = point(e); }, {capture: true});
  layer.addEventListener("mousemove", () => { if (down !== null) state.moves++; },
                         {capture: true});
  window.addEventListener("mouseup", (e) => {
    if (down === null) return;
    const box = dragBox(down, point(e));
    down = null;
    state.boxes.push(box);
    pending = {box, title: `Probe · ${box[2]}×${box[3]} box at y=${box[0]}, x=${box[1]}`,
               created: epoch(e.timeStamp), handled: epoch(performance.now())};
  }, {capture: true});  // before the widget's own listener
  const title = panel.querySelector(".ow-probe-title");
  const caption = panel.querySelector(".ow-probe-caption");
  new MutationObserver(() => {
    if (pending === null || title.textContent !== pending.title) return;
    if (caption.textContent.startsWith("probing")) return;
    const p = pending;
    pending = null;
    p.shown = epoch(performance.now());
    p.failed = caption.textContent.startsWith("probe failed") ? caption.textContent : null;
    // The answer came in a message task; the frame after it paints the panel, and a message
    // posted from that frame's callback runs once it is rendered.
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        p.painted = epoch(performance.now());
        state.drags.push(p);
      };
      channel.port2.postMessage(null);
    });
  }).observe(panel, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""


#: Before the page loads: the time each websocket message reaches the page (while probing), to
#: split *back* into the trip to the page and the page's own work.
WEBSOCKET_JS = """
(() => {
  const offset = Date.now() - performance.now();
  const Native = window.WebSocket;
  window.__owArrivals = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      // Registered before JupyterLab sets onmessage, so it runs first.
      this.addEventListener("message", () => {
        if (window.__owProbe) window.__owArrivals.push(offset + performance.now());
      });
    }
  };
})();
"""


def drag(
    page: Any,
    box: dict[str, float],
    a: tuple[float, float],
    b: tuple[float, float],
    size: int,
    steps: int,
) -> None:
    """Press at image point ``a``, move to ``b`` in ``steps`` moves at about 60 Hz, release."""

    def screen(p: tuple[float, float]) -> tuple[float, float]:
        return box["x"] + p[0] / size * box["width"], box["y"] + p[1] / size * box["height"]

    page.mouse.move(*screen(a))
    page.mouse.down()
    for k in range(1, steps + 1):
        t = k / steps
        page.mouse.move(*screen((a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)))
        time.sleep(1 / 60)
    page.mouse.up()


def measure_probes(notebook: Any, drags: int, size: int, steps: int = 12, seed: int = 1) -> dict:
    """Switch the probe tool on and make ``drags`` drags at random boxes: the page's and the
    kernel's logs."""
    page = notebook.page
    notebook.kernel.execute(KERNEL_LOG)
    notebook.by_test_id("probe-tool").click()
    layer = page.locator(".ow-probe-layer.ow-probe-on").first
    layer.wait_for(state="attached")
    panel = notebook.by_test_id("probe-result").first
    page.evaluate(PAGE_JS, [layer.element_handle(), panel.element_handle(), size, size])
    notebook.map.scroll_into_view_if_needed()
    box = layer.bounding_box()
    assert box is not None
    rng = random.Random(seed)
    for i in range(drags):
        h, w = rng.uniform(0.15, 0.5) * size, rng.uniform(0.15, 0.5) * size
        top, left = rng.uniform(1, size - h - 1), rng.uniform(1, size - w - 1)
        drag(page, box, (left, top), (left + w, top + h), size, steps)
        page.wait_for_function(f"window.__owProbe.drags.length > {i}", timeout=30_000)
        time.sleep(0.3)  # let a repeated request (same box as the last move) finish
    return {
        "page": page.evaluate("window.__owProbe"),
        "kernel": notebook.py("_ow_probe_log"),
        "arrivals": page.evaluate("window.__owArrivals || []"),
        "steps": steps,
    }


def _final_call(drag: dict, calls: list[list]) -> list | None:
    """The kernel call whose answer the panel showed: the last one on the released box that
    ended before the panel changed."""
    matching = [c for c in calls if c[2] == drag["box"] and c[1] <= drag["shown"]]
    return matching[-1] if matching else None


def report(measured: dict, percentile: Any, skip: int = 1) -> None:
    """Print the probe phase: latency median / p95, its split, and calls vs drags vs moves."""
    drags, calls = measured["page"]["drags"], measured["kernel"]
    failed = [d["failed"] for d in drags if d.get("failed")]
    timed = drags[skip:]  # the first probe traces the batch-of-one forward
    totals = [d["painted"] - d["created"] for d in timed]
    print(
        f"probe: mouse-up -> probe panel painted, {len(timed)} drags of {measured['steps']} moves "
        f"(first {skip} left out: {[round(d['painted'] - d['created']) for d in drags[:skip]]} ms):"
    )
    print(
        f"  median {statistics.median(totals):6.1f} ms   p95 {percentile(totals, 0.95):6.1f} ms"
        f"   min {min(totals):5.1f} ms   max {max(totals):6.1f} ms"
    )
    parts: dict[str, list[float]] = {
        "wait": [],
        "model": [],
        "back": [],
        "  to page": [],
        "  in page": [],
        "paint": [],
    }
    arrivals = sorted(measured.get("arrivals") or [])
    in_flight = 0
    for d in timed:
        call = _final_call(d, calls)
        if call is None:
            continue
        parts["wait"].append(call[0] - d["created"])
        parts["model"].append(call[1] - call[0])
        parts["back"].append(d["shown"] - call[1])
        # The first websocket message after the call: the reply (or one just ahead of it).
        ws = next((t for t in arrivals if t >= call[1]), None)
        if ws is not None and ws <= d["shown"]:
            parts["  to page"].append(ws - call[1])
            parts["  in page"].append(d["shown"] - ws)
        parts["paint"].append(d["painted"] - d["shown"])
        in_flight += any(c[0] < d["created"] < c[1] for c in calls)
    for name, part in parts.items():
        if part:
            print(
                f"  {name:>9}: median {statistics.median(part):6.1f} ms"
                f"   p95 {percentile(part, 0.95):6.1f} ms"
            )
    all_model = [c[1] - c[0] for c in calls[skip:]]
    if all_model:
        print(f"  every kernel probe call: median {statistics.median(all_model):.1f} ms")
    moves = measured["page"]["moves"]
    repeats = sum(1 for a, b in itertools.pairwise(calls) if a[2] == b[2])
    print(
        f"  coalescing: {len(drags)} drags, {moves} moves with the button down, "
        f"{len(calls)} probe requests reached the kernel ({len(calls) / max(1, len(drags)):.1f} "
        f"per drag, {repeats} repeating the previous box); a probe was in flight at mouse-up "
        f"in {in_flight} of {len(parts['wait'])} drags"
    )
    # A request sent only once the previous answer is back leaves a gap (the round trip) between
    # two calls; requests queued in the kernel would start the moment the previous call ends.
    # (Gaps over 250 ms are the pause between two drags.)
    gaps = [b[0] - a[1] for a, b in itertools.pairwise(calls) if b[0] - a[1] < 250]
    if gaps:
        print(
            f"  kernel idle between consecutive calls within a drag: min {min(gaps):.1f} ms, "
            f"median {statistics.median(gaps):.1f} ms (0 would mean requests queued)"
        )
    if failed:
        print(f"  {len(failed)} probes failed, e.g. {failed[0]!r}")
