"""Peak memory of a sweep at stride 8 (729 positions) and stride 2 (11,025 positions).

Each sweep runs in a fresh subprocess (TensorFlow backend, automatic batch), so one cannot
inherit the other's peak. Loading TensorFlow and the model peaks higher than many sweeps, which
would hide the sweep's own peak in ``ru_maxrss``; on Linux the peak (VmHWM) is reset just before
the sweep, so "sweep peak" is the sweep's own. Apart from the ``(rows, cols, K)`` result, the
growth should not depend on the number of positions.

Usage::

    python -m benchmarks.bench_memory            # full stride-2 sweep (minutes on a CPU)
    python -m benchmarks.bench_memory --quick    # stride-2 sweep cancelled after 20 batches
"""

from __future__ import annotations

import argparse
import resource
import threading
import time

from benchmarks import common


def child(stride, max_batches):
    import keras

    import occlusion_widget as ow

    net = common.model()
    image = common.image()
    prep = common.preprocess()
    rss_before = common.status_kb("VmRSS") / 1024
    reset = common.reset_peak()
    cancel = threading.Event()
    batches = []

    def progress(done, total):
        batches.append(done)
        if max_batches and len(batches) >= max_batches:
            cancel.set()

    t0 = time.perf_counter()
    result = ow.occlusion_map(
        net,
        image,
        patch_size=common.PATCH,
        stride=stride,
        baseline="gray",
        preprocess=prep,
        progress=progress,
        cancel=cancel,
    )
    seconds = time.perf_counter() - t0
    batch = common.engine_batch(stride)
    common.emit(
        [],
        stride=stride,
        backend=keras.backend.backend(),
        batch=batch,
        positions=result.total,
        done=result.done,
        result_mb=result.probabilities.nbytes / 2**20,
        rss_before_mb=rss_before,
        sweep_peak_mb=common.status_kb("VmHWM") / 1024 if reset else None,
        ru_maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        seconds=seconds,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="cut the stride-2 sweep short")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--max-batches", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child, args.max_batches)
        return []
    cut = 20 if args.quick else 0
    runs = []
    for stride in (8, 2):
        child_args = ["--child", str(stride), "--max-batches", str(cut if stride == 2 else 0)]
        out = common.run_child(__file__, child_args, "tensorflow")
        if out.get("error"):
            print(f"stride {stride}: failed ({out['error']})")
            continue
        runs.append(out)
    print("\nPeak memory of one sweep, each in a fresh subprocess (MB; TensorFlow, auto batch)")
    head = (
        f"{'stride':>6} {'batch':>5} {'positions':>9} {'done':>6} {'result':>7} "
        f"{'RSS before':>10} {'sweep peak':>10} {'growth':>7} {'growth-result':>13} "
        f"{'ru_maxrss':>9} {'seconds':>8}"
    )
    print(head)
    print("-" * len(head))
    for m in runs:
        peak = m["sweep_peak_mb"]
        growth = None if peak is None else peak - m["rss_before_mb"]
        m["growth_mb"] = growth
        own = None if growth is None else growth - m["result_mb"]
        print(
            f"{m['stride']:6d} {m['batch']:5d} {m['positions']:9d} {m['done']:6d} "
            f"{m['result_mb']:7.1f} {m['rss_before_mb']:10.0f} "
            f"{'n/a' if peak is None else f'{peak:.0f}':>10} "
            f"{'n/a' if growth is None else f'{growth:.0f}':>7} "
            f"{'n/a' if own is None else f'{own:.0f}':>13} "
            f"{m['ru_maxrss_mb']:9.0f} {m['seconds']:8.1f}"
        )
    if cut:
        print(f"(quick: the stride-2 sweep was cancelled after {cut} batches; its result is")
        print(" allocated in full by the first batch and later batches are alike)")
    return runs


if __name__ == "__main__":
    main()
