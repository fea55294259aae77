"""The engine's whole sweep against the inference floor, on each Keras backend.

For each backend (a subprocess with ``KERAS_BACKEND`` set): ``iter_occlusion`` on MobileNetV2
(weights=None), 224x224, patch 16, stride 8 (729 positions) with the gray baseline and
``preprocess_input``, versus the floor: the same number of occluded images, built and
preprocessed ahead of time, through the bare model's compiled batched forward pass at the same
batch size. The two alternate in one process: a warm-up each, then the median (min-max) of the
timed runs. The engine's rows also give the whole-image preview: the time until the first
partial result covers every cell of the coarse grid, as a share of the full sweep.

Usage::

    python -m benchmarks.bench_engine                  # tensorflow, jax, torch; stride 8
    python -m benchmarks.bench_engine --quick          # stride 16 (196 positions), 3 runs
    python -m benchmarks.bench_engine --backends tensorflow --batch 64
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks import common


def child(args):
    import keras
    import numpy as np

    import occlusion_widget as ow

    backend = keras.backend.backend()
    net = common.model()
    image = common.image()
    prep = common.preprocess()
    batch = args.batch or common.engine_batch(args.stride)
    inputs, grid = common.occluded_inputs(args.stride, batch)
    coarse = common.coarse_cells(grid)
    previews = []

    def engine():
        t0 = time.perf_counter()
        preview = None
        for partial in ow.iter_occlusion(
            net,
            image,
            patch_size=common.PATCH,
            stride=args.stride,
            baseline="gray",
            preprocess=prep,
            batch_size=args.batch,
            # The sweep's own machinery against the floor: one pass per position. What
            # method="auto" adds (the incremental pass) is measured in bench_auto.py.
            method="full",
        ):
            if preview is None and partial.computed.ravel()[coarse].all():
                preview = time.perf_counter() - t0
        previews.append((preview, time.perf_counter() - t0))
        return partial

    floor = common.floor(net, inputs, batch)
    # The floor must compute what the engine computes, or the comparison means nothing.
    result = engine()
    expected = floor()[: grid.total + 1]
    got = np.concatenate(
        [result.base_probabilities[None], result.probabilities.reshape(-1, result.num_classes)]
    )
    order = np.concatenate([[0], 1 + np.arange(grid.total)])
    assert np.allclose(got[order], expected, atol=1e-4), "floor and engine disagree"

    timed = common.alternate([("engine", engine), ("floor", floor)], args.repeats)
    f_med = statistics.median(timed["floor"]["times"])
    device = "GPU" if common.accelerator() else "CPU"
    shares = [p / t for p, t in previews[-args.repeats :]]
    first_s = [p for p, _ in previews[-args.repeats :]]
    rows = [
        common.row(
            "occlusion_widget iter_occlusion",
            backend,
            batch,
            grid.total,
            timed["engine"]["times"],
            f_med,
            timed["engine"]["peak_rss_mb"],
            f"{device}; preview {statistics.median(first_s):.2f} s "
            f"= {100 * statistics.median(shares):.1f}% of sweep",
        ),
        common.row(
            "floor: compiled batched forward",
            backend,
            batch,
            grid.total,
            timed["floor"]["times"],
            f_med,
            timed["floor"]["peak_rss_mb"],
            device,
        ),
    ]
    common.emit(rows, preview_share=statistics.median(shares), preview_s=statistics.median(first_s))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stride 16 and 3 runs")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs of each (>= 3)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default: automatic)")
    parser.add_argument("--stride", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.stride = args.stride or (16 if args.quick else 8)
    args.repeats = max(3, args.repeats or 3)
    if args.child:
        child(args)
        return []
    rows, notes = [], []
    for backend in args.backends.split(","):
        child_args = ["--child", "--stride", str(args.stride), "--repeats", str(args.repeats)]
        if args.batch:
            child_args += ["--batch", str(args.batch)]
        out = common.run_child(__file__, child_args, backend)
        if out.get("error"):
            notes.append(f"{backend}: skipped ({out['error']})")
        rows += out["rows"]
    common.print_table(
        f"Engine vs floor: MobileNetV2 {common.SIZE}x{common.SIZE}, patch {common.PATCH}, "
        f"stride {args.stride}, {args.repeats} alternated runs after a warm-up",
        rows,
    )
    for note in notes:
        print(note)
    return rows, notes


if __name__ == "__main__":
    main()
