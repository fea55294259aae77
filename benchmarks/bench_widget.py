"""What the widget sends to the browser, and how soon after the sweep it is ready to send.

The 729-position (224x224, patch 16, stride 8), 1000-class case. The model is a cheap numpy
stand-in with 1000 softmax outputs: what is sent depends on the grid and the classes, not on the
network. Measured on the kernel side:

* bytes: the widget's synced state as the comm would send it (JSON plus binary buffers; the
  bundled JavaScript is code sent once per page, not data);
* ready: from the end of the last model call to ``status == "done"`` (the last batch's softmax,
  storing, target map, top-k, progress), plus serialising that state. The browser's paint
  latency is measured by ``bench_hover.py`` (real browser).

* overhead: the widget's whole sweep (construction to ``status == "done"``: thread, top-k per
  batch, target maps, progress) against the engine's ``occlusion_map`` on the same model, image
  and grid, measured in the same process, plus their peak Python/numpy memory (tracemalloc).
  Issue 10's bars: at most 1.3x the engine at stride 2 (11,025 positions, 1000 classes); stride
  1 (43,681 positions) finishes; at most 1.5x the engine's time and memory with 21,843 classes
  at 729 positions.

Usage::

    python -m benchmarks.bench_widget [--quick] [--skip-overhead]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

import numpy as np

from benchmarks import common
from tests.helpers.models import softmax


def measure():
    from ipywidgets.widgets.widget import _remove_buffers

    from occlusion_widget import OcclusionWidget

    weights = np.random.default_rng(1).normal(size=(14 * 14 * 3, 1000)).astype(np.float32)
    last_call = [0.0]

    def imagenet_like(batch):
        z = batch[:, ::16, ::16].reshape(len(batch), -1) @ weights
        out = softmax(z, axis=1)
        last_call[0] = time.perf_counter()
        return out

    done_at = [0.0]
    done = threading.Event()

    def on_status(change):
        if change["new"] == "done":
            done_at[0] = time.perf_counter()
            done.set()

    w = OcclusionWidget(imagenet_like, common.image(), labels="imagenet", patch_size=16, stride=8)
    w.observe(on_status, "status")
    if w.wait(120) != "done":
        raise RuntimeError(f"the widget's sweep ended with status {w.status!r}")
    if not done.wait(10):  # the sweep finished before the observer was attached: rerun it
        done_at[0] = 0.0
        w.recompute()
        w.wait(120)
        done.wait(10)
    positions = w.grid["rows"] * w.grid["cols"]
    t0 = time.perf_counter()
    state = w.get_state()
    for code in ("_esm", "_css"):
        state.pop(code, None)
    plain, _, buffers = _remove_buffers(state)
    text = json.dumps(plain)
    serialise = time.perf_counter() - t0
    size = len(text) + sum(memoryview(b).nbytes for b in buffers)
    w.close()
    return {
        "positions": positions,
        "classes": len(w.labels),
        "bytes": size,
        "push_s": done_at[0] - last_call[0],
        "serialise_s": serialise,
    }


def softmax_model(num_classes, seed=1):
    """A fixed random linear layer + softmax over a 14 x 14 subsample: cheap, so the widget's
    own costs are not hidden behind the model's."""
    weights = np.random.default_rng(seed).normal(size=(14 * 14 * 3, num_classes)).astype(np.float32)

    def model(batch):
        return softmax(batch[:, ::16, ::16].reshape(len(batch), -1) @ weights, axis=1)

    return model


def _timed_peak(run):
    import tracemalloc

    tracemalloc.start()
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        out = run()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return out, (seconds, cpu), peak


def measure_overhead(stride, num_classes, repeats=3, timeout=3600):
    """The widget's whole sweep against the engine's, on one model, image and grid; the two
    alternate ``repeats`` times and the fastest of each counts (the machine is shared)."""
    from occlusion_widget import OcclusionWidget, occlusion_map

    model = softmax_model(num_classes)
    image = common.image()
    params = {"patch_size": 16, "stride": stride, "batch_size": 32}

    def engine_sweep():
        return occlusion_map(model, image, progress=False, **params).total

    def widget_sweep():
        w = OcclusionWidget(model, image, **params)
        status = w.wait(timeout)
        w.close()
        return status

    engine, widget = [], []
    for _ in range(repeats):
        positions, seconds, peak = _timed_peak(engine_sweep)
        engine.append((seconds, peak))
        status, seconds, peak = _timed_peak(widget_sweep)
        widget.append((seconds, peak))
    # CPU seconds (all threads) move less than wall seconds when other work shares the cores.
    engine_s, engine_cpu = min(t[0] for t, _ in engine), min(t[1] for t, _ in engine)
    widget_s, widget_cpu = min(t[0] for t, _ in widget), min(t[1] for t, _ in widget)
    engine_peak, widget_peak = max(p for _, p in engine), max(p for _, p in widget)
    return {
        "stride": stride,
        "positions": positions,
        "classes": num_classes,
        "status": status,
        "engine_s": engine_s,
        "widget_s": widget_s,
        "time_ratio": widget_s / engine_s,
        "cpu_ratio": widget_cpu / engine_cpu,
        "engine_peak_mb": engine_peak / 2**20,
        "widget_peak_mb": widget_peak / 2**20,
        "memory_ratio": widget_peak / max(engine_peak, 1),
    }


OVERHEAD_CASES = {
    # (stride, classes, the bar from issue 10 (None: it has to finish), repeats)
    "full": [(2, 1000, 1.3, 3), (1, 1000, None, 1), (8, 21843, 1.5, 3)],
    "quick": [(4, 1000, 1.3, 2), (8, 21843, 1.5, 2)],
}


def print_overhead(rows):
    print("\nWidget sweep vs engine sweep (same model, image, grid; same process)")
    print(
        f"  {'positions':>9} {'classes':>7} {'engine s':>9} {'widget s':>9} {'x time':>7}"
        f" {'x cpu':>6} {'engine MB':>9} {'widget MB':>9} {'x mem':>6}  bar"
    )
    for r in rows:
        bar = "finishes" if r["bar"] is None else f"<= {r['bar']}x"
        within = r["bar"] is None or r["time_ratio"] <= r["bar"]
        if r["bar"] is not None and r["classes"] > 1000:  # the many-class bar is on memory too
            within = within and r["memory_ratio"] <= r["bar"]
        ok = r["status"] == "done" and within
        print(
            f"  {r['positions']:>9,} {r['classes']:>7,} {r['engine_s']:>9.2f} "
            f"{r['widget_s']:>9.2f} {r['time_ratio']:>7.2f} {r['cpu_ratio']:>6.2f} "
            f"{r['engine_peak_mb']:>9.1f} "
            f"{r['widget_peak_mb']:>9.1f} {r['memory_ratio']:>6.2f}  {bar} "
            f"{'ok' if ok else 'MISSED'} ({r['status']})"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs instead of 5, small sweeps")
    parser.add_argument("--skip-overhead", action="store_true", help="transport only")
    parser.add_argument("--overhead-only", action="store_true", help="widget vs engine only")
    args = parser.parse_args(argv)
    overhead = []
    if not args.skip_overhead:
        for stride, classes, bar, repeats in OVERHEAD_CASES["quick" if args.quick else "full"]:
            overhead.append({**measure_overhead(stride, classes, repeats), "bar": bar})
        print_overhead(overhead)
    if args.overhead_only:
        return {"overhead": overhead}
    runs = [measure() for _ in range(3 if args.quick else 5)]
    m = {
        "positions": runs[0]["positions"],
        "classes": runs[0]["classes"],
        "bytes": runs[0]["bytes"],
    }
    for key in ("push_s", "serialise_s"):
        values = [r[key] for r in runs]
        m[key] = (statistics.median(values), min(values), max(values))
    ready = [r["push_s"] + r["serialise_s"] for r in runs]
    m["ready_s"] = (statistics.median(ready), min(ready), max(ready))
    print(f"\nWidget transport: {m['positions']} positions, {m['classes']} classes")
    print(f"  state sent to the browser: {m['bytes']:,} bytes ({m['bytes'] / 1e6:.2f} MB)")
    for key, label in (
        ("push_s", "last model call -> status done"),
        ("serialise_s", "serialise the state (JSON + buffers)"),
        ("ready_s", "sweep end -> map state ready to send"),
    ):
        med, lo, hi = m[key]
        print(f"  {label:<38} {1000 * med:7.1f} ms  ({1000 * lo:.1f}-{1000 * hi:.1f})")
    m["overhead"] = overhead
    return m


if __name__ == "__main__":
    main()
