"""What the widget sends to the browser, and how soon after the sweep it is ready to send.

The 729-position (224x224, patch 16, stride 8), 1000-class case. The model is a cheap numpy
stand-in with 1000 softmax outputs: what is sent depends on the grid and the classes, not on the
network. Measured on the kernel side:

* bytes: the widget's synced state as the comm would send it (JSON plus binary buffers; the
  bundled JavaScript is code sent once per page, not data);
* ready: from the end of the last model call to ``status == "done"`` (the last batch's softmax,
  storing, target map, top-k, progress), plus serialising that state. The browser's paint
  latency is measured by ``bench_hover.py`` (real browser).

Usage::

    python benchmarks/bench_widget.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from models import softmax  # tests/models.py, on the path through common


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs instead of 5")
    args = parser.parse_args(argv)
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
    return m


if __name__ == "__main__":
    main()
