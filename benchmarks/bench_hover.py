"""Hover latency in a real browser: from the mouse moving onto a new cell to the inspector painted.

The 729-position ImageNet case: a 224x224 image, patch 16, stride 8 (27 x 27 positions), 1000
classes, top-5. The widget runs in a private JupyterLab (the browser tests' harness) in Debian's
headless Chromium. The sweep finishes first; then the mouse is moved onto random cells through
Chromium's input pipeline (``page.mouse.move``, never two same cells in a row) and the page
records, for each move,

    latency = (end of the first task after the inspector changed) - mousemove.timeStamp

split into: input delivery (event created -> handler runs), update (handler -> the widget's
frame callback has redrawn the inspector) and rendering (-> that frame is rendered).

``mousemove.timeStamp`` is when the browser created the input event; the inspector changes in
the widget's animation-frame callback, and a message posted from there is delivered after that
frame's rendering, i.e. once the new occluded image, probabilities and predicted class are
painted. Frame alignment is part of what a person sees, so it is part of the figure.

Then the probe tool is switched on and the mouse drags boxes on the map: the figure is from
mouse-up to the probe panel painted with the released box's answer, split into the wait for the
kernel, the model call, the way back and the paint, with the kernel's probe count against the
drags and moves (see ``hover_probe.py``).

A figure, not an assertion: it prints the median and the 95th percentile.

Usage::

    python -m benchmarks.bench_hover           # MobileNetV2 (ImageNet weights from KERAS_HOME
                                               # when present, else weights=None), 300 moves,
                                               # 40 probe drags
    python -m benchmarks.bench_hover --quick   # a numpy stand-in with 1000 classes (the browser
                                               # gets the same payload), 60 moves, 15 drags
    python -m benchmarks.bench_hover --moves 0 --drags 30   # the probe phase only
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.hover_probe import WEBSOCKET_JS, measure_probes, report
from tests.e2e.jupyter_harness import CHROMIUM, CHROMIUM_ARGS, JupyterServer
from tests.e2e.notebook_page import NotebookPage

REPO = Path(__file__).resolve().parents[1]

SIZE, PATCH, STRIDE = 224, 16, 8

SETUP = textwrap.dedent(
    """
    import os
    from pathlib import Path

    import numpy as np
    from PIL import Image

    import occlusion_widget as ow

    from tests.helpers.models import softmax

    QUICK = {quick}
    assets = Path(os.environ.get("OCCLUSION_WIDGET_ASSETS", "/nonexistent"))
    photo = assets / "images" / "elephant.jpg"
    if photo.is_file():
        image = np.array(Image.open(photo).convert("RGB").resize(({size}, {size})))
    else:
        image = np.random.default_rng(0).integers(0, 256, ({size}, {size}, 3), dtype=np.uint8)
    labels = ow.labels.imagenet()

    if QUICK:
        # Same output shape as MobileNetV2: what the browser receives is the same size.
        projection = np.random.default_rng(1).normal(size=(3 * 8 * 8, 1000)).astype(np.float32)

        def model(batch):
            x = np.asarray(batch, np.float32).reshape(len(batch), 28, 8, 28, 8, 3)
            z = x.mean(axis=(1, 3)).reshape(len(batch), -1) @ projection / 255.0
            return softmax(z, axis=1)

        preprocess, described = None, "numpy stand-in, 1000 classes"
    else:
        import keras
        from keras.applications.mobilenet_v2 import preprocess_input as preprocess

        try:  # offline, the weights come from KERAS_HOME (the shared assets) or not at all
            weights, model = "imagenet", keras.applications.MobileNetV2(weights="imagenet")
        except Exception:
            weights, model = None, keras.applications.MobileNetV2(weights=None)
        described = f"MobileNetV2 (weights={{weights}})"
    """
)

WIDGET = (
    "w = ow.OcclusionWidget(model, image, labels=labels, preprocess=preprocess, "
    f"patch_size={PATCH}, stride={STRIDE}, top_k=5)\nw"
)

INSTRUMENT_JS = """
([canvas, inspector]) => {
  // One entry per move: [event created -> handler, handler -> inspector updated, -> painted].
  window.__owLatencies = [];
  let pending = null;
  canvas.addEventListener("mousemove", (e) => {
    if (pending === null) pending = [e.timeStamp, performance.now()];
  }, {capture: true});
  new MutationObserver(() => {
    if (pending === null) return;
    const [created, handled] = pending;
    const updated = performance.now();
    pending = null;
    // Posted from the frame that changed the inspector: runs after that frame is rendered.
    const channel = new MessageChannel();
    channel.port1.onmessage = () => window.__owLatencies.push(
      [handled - created, updated - handled, performance.now() - updated]);
    channel.port2.postMessage(null);
  }).observe(inspector, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = (len(ordered) - 1) * q
    low, high = int(index), min(int(index) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def measure(notebook: NotebookPage, moves: int, seed: int = 0) -> list[list[float]]:
    grid = notebook.py(
        "{'tops': [int(t) for t in w.grid['tops']], 'lefts': [int(v) for v in w.grid['lefts']],"
        " 'patch': [int(v) for v in w.grid['patch']]}"
    )
    notebook.map.scroll_into_view_if_needed()
    box = notebook.map.bounding_box()
    assert box is not None
    inspector = notebook.page.locator("section", has=notebook.by_test_id("ow-inspector-image"))
    notebook.page.evaluate(
        INSTRUMENT_JS, [notebook.map.element_handle(), inspector.first.element_handle()]
    )
    rng = random.Random(seed)
    cells = [(r, c) for r in range(len(grid["tops"])) for c in range(len(grid["lefts"]))]
    previous = None
    for i in range(moves):
        cell = rng.choice([c for c in cells if c != previous])
        previous = cell
        y = grid["tops"][cell[0]] + grid["patch"][0] / 2
        x = grid["lefts"][cell[1]] + grid["patch"][1] / 2
        notebook.page.mouse.move(
            box["x"] + x / SIZE * box["width"], box["y"] + y / SIZE * box["height"]
        )
        notebook.page.wait_for_function(f"window.__owLatencies.length > {i}", timeout=10_000)
    return list(notebook.page.evaluate("window.__owLatencies"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="numpy stand-in model, 60 moves")
    parser.add_argument("--moves", type=int, default=None, help="mouse moves to time (0: none)")
    parser.add_argument("--drags", type=int, default=None, help="probe drags to time (0: none)")
    args = parser.parse_args()
    moves = (60 if args.quick else 300) if args.moves is None else args.moves
    drags = (15 if args.quick else 40) if args.drags is None else args.drags
    if not os.path.exists(CHROMIUM):
        sys.exit(f"no Chromium at {CHROMIUM}: run `make chromium` (never download a browser)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from playwright.sync_api import sync_playwright

    # The kernel imports the tests' tiny models (tests.helpers) from this checkout.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
    )
    with tempfile.TemporaryDirectory(prefix="bench-hover-") as root:
        server = JupyterServer(Path(root))
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                )
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.add_init_script(WEBSOCKET_JS)
                server.write_notebook(
                    "hover.ipynb",
                    [SETUP.format(quick=args.quick, size=SIZE), WIDGET],
                )
                notebook = NotebookPage(page, server, "hover.ipynb").open()
                started = time.monotonic()
                notebook.run_all(timeout_ms=600_000)
                notebook.wait_for_widget()
                page.get_by_test_id("ow-progress").and_(
                    page.locator("[data-status=done]")
                ).wait_for(timeout=600_000)
                sweep_s = time.monotonic() - started
                info = notebook.py(
                    "[described, w.result.rows * w.result.cols, len(w.labels), w.top_k,"
                    " photo.is_file()]"
                )
                latencies = measure(notebook, moves) if moves else []
                probes = measure_probes(notebook, drags, SIZE) if drags else None
                notebook.close()
                browser.close()
        finally:
            server.stop()

    described, cells, classes, top_k, photo = info
    print(
        f"Hover latency in headless Chromium ({CHROMIUM}), JupyterLab: {described}, "
        f"{'elephant photo' if photo else 'random image'} {SIZE}x{SIZE}, patch {PATCH}, "
        f"stride {STRIDE}: {cells} positions, {classes} classes, top-{top_k} "
        f"(run + sweep {sweep_s:.0f} s)"
    )
    if latencies:
        hover(latencies)
    if probes is not None:
        report(probes, percentile)


def hover(latencies: list[list[float]]) -> None:
    totals = [sum(parts) for parts in latencies]
    print(f"mouse move -> inspector painted, {len(totals)} moves onto new cells:")
    print(
        f"  median {statistics.median(totals):6.1f} ms   p95 {percentile(totals, 0.95):6.1f} ms"
        f"   min {min(totals):5.1f} ms   max {max(totals):6.1f} ms   (a frame is 16.7 ms)"
    )
    for i, name in enumerate(("input delivery", "inspector update", "rendering")):
        part = [parts[i] for parts in latencies]
        print(
            f"  {name:>16}: median {statistics.median(part):5.1f} ms"
            f"   p95 {percentile(part, 0.95):5.1f} ms"
        )


if __name__ == "__main__":
    main()
