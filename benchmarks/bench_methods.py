"""Every method on one Keras backend: the floor, full, incremental, auto (and approximate).

For each model (random weights: timing does not depend on them; Keras' own
``preprocess_input``, gray baseline) on the backend Keras runs (``KERAS_BACKEND``):

- floor: the bare model's compiled batched forward pass over every occluded image, built
  ahead of time (``common.floor``);
- full: ``occlusion_map(method="full")``, from the call to the result;
- incremental: ``method="incremental"`` with its compiled function reused (the cost per
  position), and its set-up (first sweep minus that) in its own column;
- auto: ``method="auto"`` with the compiled incremental function dropped before each run, so
  each pays its set-up as a first sweep on a new model, image size, patch and stride does;
- approximate: ``method="approximate"`` (its defaults), its compiled function dropped before
  each run like auto's; the last column is its time over auto's (the default exact sweep).

Median of ``--rounds`` alternated rounds after a warm-up; ratios against the floor and the full
sweep of the same run. Rows go to stdout and, with ``--out``, are appended to that file as they
are measured.

Usage::

    KERAS_BACKEND=jax python -m benchmarks.bench_methods --models mobilenetv2 --stride 16
    python -m benchmarks.bench_methods --dry-run            # tiny sizes: checks it runs
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from benchmarks import common

MODELS = {
    "mobilenetv2": ("MobileNetV2", "mobilenet_v2"),
    "resnet50": ("ResNet50", "resnet50"),
    "vgg16": ("VGG16", "vgg16"),
}
HEADER = (
    "| backend | device | model | size | stride | positions | batch | floor s | full s | "
    "incremental s | set-up s | auto s | auto ran | incr / full | auto / full | full / floor |"
    " approximate s (x auto) |"
)


def _inputs(image, params, prep, batch):
    """Every occluded image (item 0 unoccluded), preprocessed, padded to whole batches."""
    import numpy as np

    grid, fill, (ph, pw) = params.grid, params.baseline, params.grid.patch_size
    n = grid.total + 1
    images = np.empty((-(-n // batch) * batch, *image.shape), np.float32)
    images[:] = params.image.pixels
    i = 1
    for top in grid.tops:
        for left in grid.lefts:
            images[i, top : top + ph, left : left + pw] = fill[top : top + ph, left : left + pw]
            i += 1
    return prep(images)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench(name, size, patch, stride, batch, rounds):
    import keras
    import numpy as np

    import occlusion_widget as ow
    from occlusion_widget.engine import validate_params

    cls, module = MODELS[name]
    net = getattr(keras.applications, cls)(weights=None, input_shape=(size, size, 3))
    prep = getattr(keras.applications, module).preprocess_input
    image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    params = validate_params(image, patch_size=patch, stride=stride)
    common.SIZE = size  # the floor's input signature
    floor = common.floor(net, _inputs(image, params, prep, batch), batch)
    kw = dict(patch_size=patch, stride=stride, preprocess=prep, progress=False, batch_size=batch)

    def sweep(method, fresh=False):
        if fresh:  # a first sweep of the model: no compiled pass, no timing remembered
            common.first_sweep()
        return ow.occlusion_map(net, image, method=method, **kw)

    floor()  # warm-ups: compile the floor, the full pass and (first sweep) the incremental one
    sweep("full")
    first_inc, _ = _timed(lambda: sweep("incremental", fresh=True))
    times: dict = {"floor": [], "full": [], "incremental": [], "auto": [], "approximate": []}
    auto_ran = set()
    for _ in range(rounds):
        times["floor"].append(_timed(floor)[0])
        times["full"].append(_timed(lambda: sweep("full"))[0])
        times["incremental"].append(_timed(lambda: sweep("incremental"))[0])
        seconds, result = _timed(lambda: sweep("auto", fresh=True))
        times["auto"].append(seconds)
        auto_ran.add(result.info.get("method", "?"))
        times["approximate"].append(_timed(lambda: sweep("approximate", fresh=True))[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "backend": keras.backend.backend(),
        "device": "gpu" if common.accelerator() else "cpu",
        "model": cls,
        "size": size,
        "stride": stride,
        "positions": params.grid.total,
        "batch": batch,
        **med,
        "setup": max(first_inc - med["incremental"], 0.0),
        "auto_ran": "/".join(sorted(auto_ran)),
    }


def setup_only(name, size, patch, stride, batch):
    """Seconds to build the incremental pass and score its first batch, minus a steady batch:
    the set-up ``auto`` weighs (``engine/auto.py`` ``SETUP_SECONDS``), without whole sweeps."""
    import keras
    import numpy as np

    from occlusion_widget.engine import make_forward, validate_params
    from occlusion_widget.engine.incremental import make_incremental

    cls, module = MODELS[name]
    net = getattr(keras.applications, cls)(weights=None, input_shape=(size, size, 3))
    prep = getattr(keras.applications, module).preprocess_input
    image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    params = validate_params(image, patch_size=patch, stride=stride)
    base = make_forward(net, prep, batch_shape=(batch, size, size, 3))
    x = _inputs(image, params, prep, batch)[:batch]
    # Item 0 is the unoccluded image (any cell), item i the occluder at position i - 1: a
    # wrong cell sends the batch to the full pass, which this would then have timed.
    cells = np.maximum(np.arange(batch) - 1, 0) % params.grid.total

    def build_and_run():
        inc = make_incremental(
            net, base, base.prepare(params.image.pixels[None].copy())[0], params.grid
        )
        inc.set_cells(cells)
        inc.run(x)
        return inc

    first, inc = _timed(build_and_run)
    inc.set_cells(cells)
    steady, _ = _timed(lambda: inc.run(x))
    if inc.batches_full:
        raise RuntimeError(f"{inc.batches_full} batches ran in full: not the incremental set-up")
    return first - steady


def format_row(r):
    return (
        f"| {r['backend']} | {r['device']} | {r['model']} | {r['size']} | {r['stride']} | "
        f"{r['positions']} | {r['batch']} | {r['floor']:.2f} | {r['full']:.2f} | "
        f"{r['incremental']:.2f} | {r['setup']:.1f} | {r['auto']:.2f} | {r['auto_ran']} | "
        f"{r['incremental'] / r['full']:.2f} | {r['auto'] / r['full']:.2f} | "
        f"{r['full'] / r['floor']:.2f} | {r['approximate']:.2f} ({r['approximate'] / r['auto']:.2f}"
        f"x auto) |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mobilenetv2"], choices=list(MODELS))
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--patch", type=int, default=16)
    parser.add_argument("--stride", type=int, default=16)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", help="append the rows to this file too")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="tiny sizes (32 px, patch 8, stride 2, one round): checks it runs",
    )
    parser.add_argument("--header", action="store_true", help="print the table header first")
    parser.add_argument("--setup-only", action="store_true", help="only the incremental set-up")
    args = parser.parse_args(argv)
    if args.setup_only:
        import keras

        for name in args.models:
            s = setup_only(name, args.size, args.patch, args.stride, args.batch)
            print(f"set-up {keras.backend.backend()} {name}: {s:.1f} s", flush=True)
        return
    if args.dry_run:
        args.size, args.patch, args.stride, args.batch, args.rounds = 32, 8, 2, 16, 1
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)] if args.header else []
    for name in [None, *args.models]:
        if name is not None:  # each row as soon as it is measured: a cut-off run keeps it
            lines = [
                format_row(bench(name, args.size, args.patch, args.stride, args.batch, args.rounds))
            ]
        for line in lines:
            print(line, flush=True)
        if args.out and lines:
            with open(args.out, "a", encoding="utf-8") as out:
                out.write("\n".join(lines) + "\n")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) at the end: {load:.1f}", flush=True)


if __name__ == "__main__":
    main()
