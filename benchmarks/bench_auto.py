"""Whole sweeps, set-up included: method="full" against method="auto" (the default).

``bench_incremental.py`` compares the two forward passes on the same batches; this script asks
what a user waits for: ``occlusion_map`` from the call to the result, once with
``method="full"`` and once with ``method="auto"`` (which runs incrementally where the plan says
it pays, after a clean pass, the plan and tracing the incremental function: the set-up is in
the time). The compiled incremental function is dropped before each auto run so that every run
pays its set-up, as a first sweep on a new model, image size, patch and stride does. Random
weights (timing does not depend on them), 224x224, patch 16, gray baseline, Keras'
``preprocess_input``; the two methods alternate, and the median of ``--rounds`` is reported.

Usage::

    python -m benchmarks.bench_auto                         # MobileNetV2 at strides 16, 8, 4
    python -m benchmarks.bench_auto --models vgg16 --strides 8
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks import common
from benchmarks.bench_incremental import MODELS, PATCH, SIZE


def bench(name, stride, rounds):
    import keras
    import numpy as np

    import occlusion_widget as ow

    cls, module = MODELS[name]
    net = getattr(keras.applications, cls)(weights=None, input_shape=(SIZE, SIZE, 3))
    prep = getattr(keras.applications, module).preprocess_input
    image = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    kw = dict(patch_size=PATCH, stride=stride, preprocess=prep, progress=False)
    ow.occlusion_map(net, image, method="full", **{**kw, "stride": PATCH})  # compile the floor
    times = {"full": [], "auto": []}
    results = {}
    for _ in range(rounds):
        for method in ("full", "auto"):
            common.first_sweep()  # every auto run pays its set-up and times the full pass
            t0 = time.perf_counter()
            results[method] = ow.occlusion_map(net, image, method=method, **kw)
            times[method].append(time.perf_counter() - t0)
    full, auto = statistics.median(times["full"]), statistics.median(times["auto"])
    diff = float(np.abs(results["full"].probabilities - results["auto"].probabilities).max())
    return {
        "model": cls,
        "stride": stride,
        "positions": results["full"].total,
        "full_s": full,
        "auto_s": auto,
        "ratio": auto / full,
        "chose": results["auto"].info.get("method", "?"),
        "diff": diff,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mobilenetv2"], choices=list(MODELS))
    parser.add_argument("--strides", nargs="+", type=int, default=[16, 8, 4])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    print(
        "| model | stride | positions | full s | auto s | auto / full | auto ran | max abs diff |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in args.models:
        for stride in args.strides:
            r = bench(name, stride, args.rounds)
            print(
                f"| {r['model']} | {r['stride']} | {r['positions']} | {r['full_s']:.1f} | "
                f"{r['auto_s']:.1f} | {r['ratio']:.2f} | {r['chose']} | {r['diff']:.1e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
