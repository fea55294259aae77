"""Benchmark the occlusion engine against the raw inference floor, and its peak memory.

MobileNetV2 (weights=None: timing does not depend on the weights), a 224x224 image, patch 16:

* time: ``occlusion_map`` versus the floor, the same occluded images pushed through the same
  model in one compiled, batched loop with nothing else (prebuilt inputs), measured in the same
  run, alternated, median of several runs after a warm-up;
* memory: peak resident memory (``ru_maxrss``) of a sweep at stride 8 versus stride 2, each in a
  fresh subprocess, so one measurement cannot inherit the other's peak.

Usage::

    python benchmarks/bench_engine.py            # 729 positions, 5 timed runs, full stride-2 sweep
    python benchmarks/bench_engine.py --quick    # fewer positions/runs, stride-2 sweep cut short
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZE = 224
PATCH = 16


def _model():
    import keras

    return keras.applications.MobileNetV2(weights=None, input_shape=(SIZE, SIZE, 3))


def _image():
    return np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


def _floor_inputs(image, stride, preprocess):
    """Every occluded image (plus the unoccluded one), preprocessed, built ahead of time."""
    from occlusion_widget.engine import validate_params

    params = validate_params(image, patch_size=PATCH, stride=stride)
    grid, fill = params.grid, params.baseline
    images = np.empty((grid.total + 1, SIZE, SIZE, 3), np.float32)
    images[:] = params.image.pixels
    i = 1
    for top in grid.tops:
        for left in grid.lefts:
            images[i, top : top + PATCH, left : left + PATCH] = fill[
                top : top + PATCH, left : left + PATCH
            ]
            i += 1
    return preprocess(images)


def _floor(model, inputs, batch_size):
    import tensorflow as tf

    fn = tf.function(
        lambda x: model(x, training=False),
        input_signature=[tf.TensorSpec((None, SIZE, SIZE, 3), tf.float32)],
    )
    padded = -len(inputs) % batch_size
    if padded:
        inputs = np.concatenate([inputs, np.repeat(inputs[-1:], padded, axis=0)])

    def run():
        out = []
        for start in range(0, len(inputs), batch_size):
            out.append(fn(inputs[start : start + batch_size]).numpy())
        return np.concatenate(out)

    return run


def time_mode(args):
    import keras

    import occlusion_widget as ow

    preprocess = keras.applications.mobilenet_v2.preprocess_input
    model = _model()
    image = _image()
    inputs = _floor_inputs(image, args.stride, preprocess)
    n_positions = len(inputs) - 1
    batch_size = 64

    def engine():
        return ow.occlusion_map(
            model,
            image,
            PATCH,
            args.stride,
            "gray",
            preprocess=preprocess,
            batch_size=batch_size,
            progress=False,
        )

    floor = _floor(model, inputs, batch_size)
    # Warm-up: traces, allocator pools, oneDNN primitive caches.
    result = engine()
    floor_probs = floor()[: n_positions + 1]
    # The floor must compute what the engine computed, or the comparison means nothing.
    engine_flat = np.concatenate(
        [result.base_probabilities[None], result.probabilities.reshape(-1, result.num_classes)]
    )
    assert np.allclose(engine_flat, floor_probs, atol=1e-4), "floor and engine disagree"

    engine_times, floor_times = [], []
    for _ in range(args.repeats):
        for _name, fn, times in (("engine", engine, engine_times), ("floor", floor, floor_times)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return n_positions, engine_times, floor_times


def memory_mode(stride, max_batches):
    """Run one sweep and print JSON with ru_maxrss before and after (kilobytes on Linux)."""
    import occlusion_widget as ow

    model = _model()
    image = _image()
    import keras

    preprocess = keras.applications.mobilenet_v2.preprocess_input
    # Model loading peaks higher than many sweeps, which would hide the sweep's own peak in
    # ru_maxrss; Linux can reset the peak (VmHWM) so the sweep's peak is measured on its own.
    rss_before = _status_kb("VmRSS")
    reset = _reset_peak()
    cancel = threading.Event()
    batches = []

    def progress(done, total):
        batches.append(done)
        if max_batches and len(batches) >= max_batches:
            cancel.set()

    t0 = time.perf_counter()
    result = ow.occlusion_map(
        model,
        image,
        PATCH,
        stride,
        preprocess=preprocess,
        batch_size=64,
        progress=progress,
        cancel=cancel,
    )
    elapsed = time.perf_counter() - t0
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sweep_peak = _status_kb("VmHWM") if reset else None
    print(
        json.dumps(
            {
                "stride": stride,
                "positions": result.total,
                "done": result.done,
                "result_mb": result.probabilities.nbytes / 2**20,
                "rss_before_mb": rss_before / 1024,
                "sweep_peak_mb": None if sweep_peak is None else sweep_peak / 1024,
                "ru_maxrss_mb": maxrss / 1024,
                "seconds": elapsed,
            }
        )
    )


def _status_kb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _memory(stride, max_batches):
    cmd = [sys.executable, __file__, "--memory-run", str(stride), "--max-batches", str(max_batches)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"memory run for stride {stride} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer positions and runs")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs of each (>= 3)")
    parser.add_argument("--memory-run", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--max-batches", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.memory_run is not None:
        memory_mode(args.memory_run, args.max_batches)
        return

    # Quick: stride 16 (196 positions) for timing; the stride-2 memory sweep stops after 20
    # batches (its (rows, cols, K) result is allocated in full from the first batch, and every
    # later batch has the same size, so the peak is already reached).
    args.stride = 16 if args.quick else 8
    args.repeats = max(3, args.repeats or (3 if args.quick else 5))
    n, engine_times, floor_times = time_mode(args)
    e_med, f_med = statistics.median(engine_times), statistics.median(floor_times)
    print(
        f"\nMobileNetV2 (weights=None) {SIZE}x{SIZE}, patch {PATCH}, stride {args.stride}: "
        f"{n} positions, batch 64, {args.repeats} alternated runs after warm-up"
    )
    print(f"{'':10} {'median s':>10} {'min s':>8} {'max s':>8} {'img/s':>8} {'x floor':>8}")
    for name, times, med in (("engine", engine_times, e_med), ("floor", floor_times, f_med)):
        print(
            f"{name:10} {med:10.2f} {min(times):8.2f} {max(times):8.2f} "
            f"{(n + 1) / med:8.1f} {med / f_med:8.2f}"
        )

    strides = (8, 2)
    cut = 20 if args.quick else 0
    print("\nPeak memory, each sweep in a fresh subprocess (MB). ru_maxrss includes loading")
    print("TensorFlow and the model; 'sweep peak' is VmHWM reset just before the sweep.")
    print(
        f"{'stride':>6} {'positions':>10} {'done':>6} {'result':>8} {'RSS before':>11} "
        f"{'sweep peak':>11} {'growth':>8} {'ru_maxrss':>10}"
    )
    for stride in strides:
        m = _memory(stride, cut if stride == 2 else 0)
        peak = m["sweep_peak_mb"]
        growth = "n/a" if peak is None else f"{peak - m['rss_before_mb']:.0f}"
        peak_text = "n/a" if peak is None else f"{peak:.0f}"
        print(
            f"{m['stride']:6d} {m['positions']:10d} {m['done']:6d} {m['result_mb']:8.1f} "
            f"{m['rss_before_mb']:11.0f} {peak_text:>11} {growth:>8} {m['ru_maxrss_mb']:10.0f}"
        )
    if cut:
        print(f"(quick: the stride-2 sweep was cancelled after {cut} batches)")


if __name__ == "__main__":
    main()
