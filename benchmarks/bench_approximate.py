"""method="approximate" against the default exact sweep, per photo: time, SSIM, agreement, error.

For each shared photo (elephant, chelsea, coffee; resized to 224x224), MobileNetV2 with ImageNet
weights (``KERAS_HOME`` must hold them; nothing is downloaded), patch 16, stride 8, gray
baseline: the default exact sweep (``method="auto"``) and the approximate one (each setting of
``--settings``, ``tau:tolerance``, ``none`` for no drill-down), alternated for ``--rounds``
rounds with the compiled incremental function dropped before every run (so each pays its
set-up, as a first sweep on a new model, size, patch and stride does), or with ``--warm`` kept
(as for a second image of the same size: both reuse it). Reported per photo and
setting: the median wall times and their ratio, the positions computed, the SSIM of the
unoccluded class's sensitivity map against the exact one (``adaptive.ssim``: 7x7 windows of
cells, data range the exact map's), the share of positions predicting the same class, the error
the sweep measured on its own sample (``info["measured_error"]``) and the true error (largest
class's absolute probability error: mean and max over every position).

Usage::

    python -m benchmarks.bench_approximate                       # defaults, 3 rounds
    python -m benchmarks.bench_approximate --settings 1:0.5 1:0.7 0.6:none --rounds 1
    python -m benchmarks.bench_approximate --dry-run             # tiny model: checks it runs
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks import common

ASSETS = Path(
    os.environ.get("OCCLUSION_WIDGET_ASSETS", Path(__file__).parents[2] / "shared/assets")
)
PHOTOS = ("elephant.jpg", "chelsea.png", "coffee.png")
HEADER = (
    "| image | tau | tolerance | auto s | approximate s | approx / auto | positions | SSIM | "
    "agreement | measured max / mean (n) | true max / mean | ran (auto / approximate) | load |"
)


def _setting(text):
    tau, _, tol = text.partition(":")
    return float(tau), (None if tol in ("none", "None") else float(tol or 0.5))


def _load(name, size):
    from PIL import Image

    with Image.open(ASSETS / "images" / name) as im:
        return np.asarray(im.convert("RGB").resize((size, size)))


def measure(model, prep, image, patch, stride, settings, rounds, warm=False):
    import occlusion_widget as ow
    from occlusion_widget.engine.adaptive import ssim
    from occlusion_widget.engine.approximate import approximate_map

    kw = dict(patch_size=patch, stride=stride, preprocess=prep, progress=False)

    def timed(fn):
        if not warm:
            common.first_sweep()  # every run pays its set-up and times the full pass
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out

    ow.occlusion_map(model, image, method="full", **kw)  # warm-up: the model's compiled call
    if warm:  # and the compiled incremental pass, which both then reuse
        ow.occlusion_map(model, image, method="incremental", **kw)
    rows = []
    auto_times, approx_times = [], {s: [] for s in settings}
    exact, results = None, {}
    for _ in range(rounds):
        seconds, exact = timed(lambda: ow.occlusion_map(model, image, method="auto", **kw))
        auto_times.append(seconds)
        for tau, tol in settings:
            seconds, results[(tau, tol)] = timed(
                lambda tau=tau, tol=tol: approximate_map(model, image, tau=tau, tolerance=tol, **kw)
            )
            approx_times[(tau, tol)].append(seconds)
    auto_s = statistics.median(auto_times)
    c = exact.base_class
    for setting in settings:
        result = results[setting]
        info = result.info
        err = info["measured_error"]
        diff = np.abs(result.probabilities - exact.probabilities).max(axis=2)
        agree = float(np.mean(result.predicted_classes() == exact.predicted_classes()))
        approx_s = statistics.median(approx_times[setting])
        rows.append(
            {
                "tau": setting[0],
                "tolerance": "none" if setting[1] is None else setting[1],
                "auto": auto_s,
                "approx": approx_s,
                "positions": f"{info['positions_computed']}/{result.total}",
                "ssim": ssim(exact.sensitivity(c), result.sensitivity(c)),
                "agreement": agree,
                "measured": f"{err['max_abs']:.3f} / {err['mean_abs']:.4f} ({err['sampled']})",
                "true": f"{diff.max():.3f} / {diff.mean():.4f}",
                "ran": f"{exact.info['method']} / {info.get('inner', 'full')}",
            }
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="+", default=list(PHOTOS))
    parser.add_argument("--settings", nargs="+", default=["default"])
    parser.add_argument("--patch", type=int, default=16)
    parser.add_argument("--stride", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", help="append the rows to this file too")
    parser.add_argument("--dry-run", action="store_true", help="tiny random model, one round")
    parser.add_argument(
        "--warm",
        action="store_true",
        help="keep the compiled incremental pass (as for a second image of the same size)",
    )
    args = parser.parse_args(argv)
    import keras

    from occlusion_widget.engine import approximate

    settings = [
        (approximate.DEFAULT_TAU, approximate.DEFAULT_TOLERANCE) if s == "default" else _setting(s)
        for s in args.settings
    ]
    size = 224
    if args.dry_run:
        size, args.patch, args.stride, args.rounds = 32, 8, 2, 1
        model = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3))
    else:
        model = keras.applications.MobileNetV2(weights="imagenet")
    prep = keras.applications.mobilenet_v2.preprocess_input
    print(HEADER, flush=True)
    print("|" + "---|" * (HEADER.count("|") - 1), flush=True)
    for name in args.images:
        image = _load(name, size)
        rows = measure(
            model, prep, image, args.patch, args.stride, settings, args.rounds, args.warm
        )
        for r in rows:
            load = os.getloadavg()[0]
            line = (
                f"| {name} | {r['tau']:g} | {r['tolerance']} | {r['auto']:.2f} | "
                f"{r['approx']:.2f} | **{r['approx'] / r['auto']:.2f}** | {r['positions']} | "
                f"**{r['ssim']:.3f}** | **{r['agreement']:.3f}** | {r['measured']} | "
                f"{r['true']} | {r['ran']} | {load:.1f} |"
            )
            print(line, flush=True)
            if args.out:
                with open(args.out, "a", encoding="utf-8") as out:
                    out.write(line + "\n")


if __name__ == "__main__":
    main()
