"""method="incremental" against the compiled full forward pass, on the same batches.

For each model (random weights: timing does not depend on them; 224x224, patch 16, the gray
baseline, Keras' own preprocess_input): a few batches of occluded images spread over the visiting
order are built and preprocessed ahead of time, then scored alternately by the bare model's
compiled batched forward pass (the floor) and by the incremental pass, a warm-up each, then the
median of the timed rounds. The ratio is incremental / floor; the table also gives the share of
multiply-adds the plan computes and the largest difference between the two passes' outputs on
the timed batches. Only these batches are timed (a subset of the sweep: the per-batch cost does
not depend on where the patch is beyond the border shifts, which the spread covers).

Usage::

    python -m benchmarks.bench_incremental                      # MobileNetV2, VGG16, ResNet50
    python -m benchmarks.bench_incremental --models mobilenetv2 --stride 8 --batches 2
"""

from __future__ import annotations

import argparse
import statistics
import time

SIZE, PATCH = 224, 16
MODELS = {
    "mobilenetv2": ("MobileNetV2", "mobilenet_v2"),
    "vgg16": ("VGG16", "vgg16"),
    "resnet50": ("ResNet50", "resnet50"),
}


def case(name, stride, batch):
    """``name`` with random weights and Keras' own preprocessing, a seeded 224x224 image, its
    checked parameters, the compiled full pass for ``batch`` images and the prepared clean
    image: ``(net, params, base, clean)`` (shared with ``profile_incremental``)."""
    import keras
    import numpy as np

    from occlusion_widget.engine import make_forward, validate_params

    cls, module = MODELS[name]
    net = getattr(keras.applications, cls)(weights=None, input_shape=(SIZE, SIZE, 3))
    prep = getattr(keras.applications, module).preprocess_input
    image = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    params = validate_params(image, patch_size=PATCH, stride=stride)
    base = make_forward(net, prep, batch_shape=(batch, SIZE, SIZE, 3))
    clean = base.prepare(params.image.pixels[None].copy())[0]
    return net, params, base, clean


def bench(name, stride, batch, n_batches, rounds, full_share=None):
    import numpy as np

    from occlusion_widget.engine.incremental import make_incremental

    net, params, base, clean = case(name, stride, batch)
    grid, fill = params.grid, params.baseline
    t0 = time.perf_counter()
    inc = make_incremental(net, base, clean, grid, full_share)
    build = time.perf_counter() - t0
    order = grid.order()
    starts = np.linspace(1, grid.total - batch + 1, n_batches).astype(int)
    xs = []
    for start in starts:
        raw = np.repeat(params.image.pixels[None], batch, axis=0)
        for j in range(batch):
            cell = order[start + j - 1]
            top, left = grid.tops[cell // grid.cols], grid.lefts[cell % grid.cols]
            raw[j, top : top + PATCH, left : left + PATCH] = fill[
                top : top + PATCH, left : left + PATCH
            ]
        xs.append(base.prepare(raw))

    def floor():
        return [base.run(x) for x in xs]

    def incremental():
        out = []
        for start, x in zip(starts, xs, strict=True):
            inc.set_cells(order[start - 1 : start - 1 + batch])
            out.append(inc.run(x))
        return out

    t0 = time.perf_counter()
    want = floor()
    got = incremental()  # warm-ups (the second traces the incremental function)
    warm = time.perf_counter() - t0
    diff = max(float(np.abs(a - b).max()) for a, b in zip(want, got, strict=True))
    times = {"floor": [], "incremental": []}
    for _ in range(rounds):
        for key, fn in (("floor", floor), ("incremental", incremental)):
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)
    f, i = statistics.median(times["floor"]), statistics.median(times["incremental"])
    per_image = lambda t: t / (n_batches * batch)  # noqa: E731
    return {
        "model": MODELS[name][0],
        "stride": stride,
        "positions": grid.total,
        "floor_ms": 1000 * per_image(f),
        "inc_ms": 1000 * per_image(i),
        "ratio": i / f,
        "flops": inc.plan.flop_fraction,
        "layers": "{}/{}".format(*inc.plan.incremental_layers),
        "diff": diff,
        "setup_s": build + warm,
        "spread": f"{min(times['incremental']) / max(times['floor']):.2f}-"
        f"{max(times['incremental']) / min(times['floor']):.2f}",
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", type=int, default=3, help="timed batches per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--full-share",
        type=float,
        default=None,
        help="switch a layer to the whole map from this box share (default: plan.FULL_SHARE)",
    )
    args = parser.parse_args(argv)
    print(
        "| model | stride | positions | floor ms/image | incremental ms/image | x floor "
        "(min-max) | FLOP share | layers on boxes | max abs diff | setup s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.models:
        r = bench(name, args.stride, args.batch, args.batches, args.rounds, args.full_share)
        print(
            f"| {r['model']} | {r['stride']} | {r['positions']} | {r['floor_ms']:.1f} | "
            f"{r['inc_ms']:.1f} | {r['ratio']:.2f} ({r['spread']}) | {r['flops']:.2f} | "
            f"{r['layers']} | {r['diff']:.1e} | {r['setup_s']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
