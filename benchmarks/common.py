"""Shared pieces of the benchmarks: the workload, the inference floor per backend, alternated
timing with peak memory, and the table every script prints.

The workload of issue 6: MobileNetV2 (weights=None: timing does not depend on the weights), a
224x224 image, patch 16, stride 8 (729 positions), the gray baseline, Keras' own
``preprocess_input``. A Keras backend is fixed per process, so every backend runs in its own
subprocess (``KERAS_BACKEND`` set) that prints its rows as one JSON line.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "benchmarks" / ".peers"
SIZE = 224
PATCH = 16
ROW_MARK = "BENCH-ROWS "


def model():
    """MobileNetV2 with random weights, built for 224x224x3."""
    import keras

    return keras.applications.MobileNetV2(weights=None, input_shape=(SIZE, SIZE, 3))


def preprocess():
    import keras

    return keras.applications.mobilenet_v2.preprocess_input


def image():
    return np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


def occluded_inputs(stride, batch_size):
    """Every occluded image (item 0 unoccluded), preprocessed, padded to whole batches: what the
    floor feeds the model, built ahead of time so that the floor times the model alone."""
    from occlusion_widget.engine import validate_params

    params = validate_params(image(), patch_size=PATCH, stride=stride)
    grid, fill = params.grid, params.baseline
    n = grid.total + 1
    n_padded = -(-n // batch_size) * batch_size
    images = np.empty((n_padded, SIZE, SIZE, 3), np.float32)
    images[:] = params.image.pixels
    i = 1
    for top in grid.tops:
        for left in grid.lefts:
            images[i, top : top + PATCH, left : left + PATCH] = fill[
                top : top + PATCH, left : left + PATCH
            ]
            i += 1
    return preprocess()(images), grid


def accelerator():
    """Whether the current Keras backend runs on a GPU/TPU."""
    import keras

    from occlusion_widget.engine.model import has_accelerator

    return has_accelerator(keras.backend.backend())


def first_sweep():
    """Forget what an earlier sweep left behind (the compiled incremental pass, the full pass's
    remembered speed), so the next sweep pays what a first sweep of the model pays."""
    from occlusion_widget.engine import auto
    from occlusion_widget.engine.incremental import forward

    forward._LAST.clear()
    auto._SPEED.clear()


def floor(net, inputs, batch_size):
    """The bare model as a compiled batched forward over prebuilt inputs: ``run() -> scores``.

    Built the way each framework compiles best: ``tf.function`` (XLA only on a GPU, where it
    helps; on a CPU it is ~10x slower), ``jax.jit`` of the stateless call, torch ``no_grad``.
    """
    import keras

    backend = keras.backend.backend()
    batches = [inputs[s : s + batch_size] for s in range(0, len(inputs), batch_size)]
    if backend == "tensorflow":
        import tensorflow as tf

        fn = tf.function(
            lambda x: net(x, training=False),
            input_signature=[tf.TensorSpec((None, SIZE, SIZE, 3), tf.float32)],
            jit_compile=accelerator() or None,
        )

        def run():
            return np.concatenate([fn(b).numpy() for b in batches])

    elif backend == "jax":
        import jax

        tv = [v.value for v in net.trainable_variables]
        ntv = [v.value for v in net.non_trainable_variables]
        fn = jax.jit(lambda t, n, x: net.stateless_call(t, n, x, training=False)[0])

        def run():
            return np.concatenate([np.asarray(fn(tv, ntv, b)) for b in batches])

    elif backend == "torch":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        tensors = [torch.from_numpy(b).to(device) for b in batches]

        def run():
            with torch.no_grad():
                return np.concatenate([net(t, training=False).cpu().numpy() for t in tensors])

    else:
        raise ValueError(f"no floor for the {backend} backend")
    return run


# -- memory -------------------------------------------------------------------------------------


def status_kb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak():
    """Reset the peak resident set (VmHWM) so the next measurement is one approach's own."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb():
    kb = status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


# -- timing -------------------------------------------------------------------------------------


def alternate(approaches, repeats):
    """Time each ``(name, fn)`` once to warm up, then ``repeats`` times each, alternated.

    Returns ``{name: {"times": [...], "peak_rss_mb": float}}``; the peak is the largest VmHWM
    seen over that approach's runs (reset before each run).
    """
    out = {name: {"times": [], "peak_rss_mb": 0.0} for name, _ in approaches}
    for _, fn in approaches:
        fn()
    for _ in range(repeats):
        for name, fn in approaches:
            reset_peak()
            t0 = time.perf_counter()
            fn()
            out[name]["times"].append(time.perf_counter() - t0)
            out[name]["peak_rss_mb"] = max(out[name]["peak_rss_mb"], peak_rss_mb())
    return out


def row(approach, backend, batch, positions, times, floor_median, peak, note=""):
    med = statistics.median(times)
    return {
        "approach": approach,
        "backend": backend,
        "batch": batch,
        "positions": positions,
        "median_s": med,
        "min_s": min(times),
        "max_s": max(times),
        "ratio": med / floor_median if floor_median else None,
        "peak_rss_mb": peak,
        "note": note,
    }


def emit(rows, **extra):
    """Print the rows as one JSON line for the parent process."""
    print(ROW_MARK + json.dumps({"rows": rows, **extra}), flush=True)


def run_child(script, args, backend, extra_path=None, timeout=3600):
    """Run the benchmark ``script`` (its path; run as ``python -m benchmarks.<name>``) under
    ``KERAS_BACKEND=backend``, with ``extra_path`` first on its path when given; return its
    JSON, or ``{"error": ...}``."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    # The checkout on the child's path, whatever its working directory: it runs as a module.
    paths = [str(extra_path) if extra_path else None, str(ROOT), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    cmd = [sys.executable, "-m", f"benchmarks.{Path(script).stem}", *args]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s", "rows": []}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(ROW_MARK):
            return json.loads(line[len(ROW_MARK) :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail), "rows": []}


def print_table(title, rows):
    print(f"\n{title}")
    head = (
        f"{'approach':<34} {'backend':<10} {'batch':>5} {'pos':>5} {'median s':>9} "
        f"{'min-max s':>13} {'x floor':>8} {'peak RSS MB':>11}  note"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.3f}"
        print(
            f"{r['approach']:<34} {r['backend']:<10} {r['batch']!s:>5} {r['positions']:>5} "
            f"{r['median_s']:9.2f} {r['min_s']:6.2f}-{r['max_s']:<6.2f} {ratio:>8} "
            f"{r['peak_rss_mb']:11.0f}  {r['note']}"
        )


def markdown_table(rows):
    lines = [
        "| approach | backend | batch | positions | median s | min-max s | x floor | peak RSS MB "
        "| note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.3f}"
        lines.append(
            f"| {r['approach']} | {r['backend']} | {r['batch']} | {r['positions']} | "
            f"{r['median_s']:.2f} | {r['min_s']:.2f}-{r['max_s']:.2f} | {ratio} | "
            f"{r['peak_rss_mb']:.0f} | {r['note']} |"
        )
    return "\n".join(lines)


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def versions():
    import importlib.metadata as md

    out = {}
    for name in ("numpy", "keras", "tensorflow", "jax", "jaxlib", "torch"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def coarse_cells(grid):
    """Flat indices of the coarse grid the sweep visits first (its first level): when all of
    them are computed, the partial result covers the whole image."""
    step = 1
    while step * 2 <= max(grid.rows, grid.cols) // 2:
        step *= 2
    r_on = (np.arange(grid.rows) % step == 0) | (np.arange(grid.rows) == grid.rows - 1)
    c_on = (np.arange(grid.cols) % step == 0) | (np.arange(grid.cols) == grid.cols - 1)
    return np.flatnonzero(np.outer(r_on, c_on).ravel())


def engine_batch(stride):
    """The batch size the engine picks by itself for this workload and device."""
    from occlusion_widget.engine import validate_params

    params = validate_params(image(), patch_size=PATCH, stride=stride)
    try:
        from occlusion_widget.engine.sweep import auto_batch_size
    except ImportError:  # an older engine (benchmarking "before")
        return params.batch_size
    import keras

    n, image_bytes = params.grid.total + 1, SIZE * SIZE * 3 * 4
    try:
        return auto_batch_size(n, image_bytes, accelerator(), keras.backend.backend())
    except TypeError:  # an engine from before the per-backend CPU batch
        return auto_batch_size(n, image_bytes, accelerator())
