"""method="adaptive" against the exact map, per image: passes saved, SSIM, class agreement.

For each image: the exact map (``method="auto"``: incremental where it pays) and the adaptive
one; the table gives how many times fewer forward passes the adaptive sweep ran (the
unoccluded image counted on both sides), the SSIM of the unoccluded class's sensitivity maps,
the share of cells whose predicted class agrees, the true mean error (max over classes, mean
over cells), the adaptive sweep's own estimate of it, and, as a yardstick, the SSIM of a
non-adaptive map with about as many passes (every second row and column computed, the rest
interpolated bilinearly from the exact map).

Usage::

    python -m benchmarks.bench_adaptive demo            # the demo shapes, patch 8, stride 2
    python -m benchmarks.bench_adaptive cifar --n 20    # the shared CIFAR images, patch 8, stride 1
    python -m benchmarks.bench_adaptive photos --n 4 --stride 4   # photos, MobileNetV2, patch 16
    python -m benchmarks.bench_adaptive demo --n 3 --tolerances 0.15,0.3   # the trade-off
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

ASSETS = Path(
    os.environ.get("OCCLUSION_WIDGET_ASSETS", Path(__file__).parents[2] / "shared/assets")
)


def uniform(exact_map, step=2):
    """The exact map sampled on the ``step`` lattice and interpolated bilinearly: what a
    non-adaptive sweep with the same number of passes would show (a bound to compare)."""
    from occlusion_widget.engine.grid import lattice

    r, c = lattice(exact_map.shape[0], step), lattice(exact_map.shape[1], step)
    sub = exact_map[np.ix_(r, c)]
    cols = np.stack(
        [np.interp(np.arange(exact_map.shape[0]), r, sub[:, j]) for j in range(len(c))], 1
    )
    rows = [np.interp(np.arange(exact_map.shape[1]), c, cols[i]) for i in range(len(cols))]
    return np.stack(rows, 0), exact_map.size / (len(r) * len(c))


def measure(model, image, patch, stride, preprocess=None, tolerances=(None,)):
    import occlusion_widget as ow
    from occlusion_widget.engine import adaptive
    from occlusion_widget.engine.adaptive import ssim

    kw = dict(progress=False, preprocess=preprocess)
    exact = ow.occlusion_map(model, image, patch_size=patch, stride=stride, method="auto", **kw)
    c = exact.base_class
    flat, ratio = uniform(exact.sensitivity(c))
    lines = []
    default = adaptive.TOLERANCE
    for tol in tolerances:
        adaptive.TOLERANCE = default if tol is None else tol
        try:
            approx = ow.occlusion_map(
                model, image, patch_size=patch, stride=stride, method="adaptive", **kw
            )
        finally:
            adaptive.TOLERANCE = default
        agree = np.mean(exact.predicted_classes() == approx.predicted_classes())
        err = np.abs(exact.probabilities - approx.probabilities).max(-1).mean()
        est = approx.info["error_estimate"]
        lines.append(
            f"{exact.rows}x{exact.cols} | {default if tol is None else tol} | "
            f"{approx.info['passes_saved']:.2f} | "
            f"{ssim(exact.sensitivity(c), approx.sensitivity(c)):.3f} | {agree:.3f} | "
            f"{err:.4f} | {est['mean_abs']:.4f} | "
            f"{ssim(exact.sensitivity(c), flat):.3f} ({ratio:.1f}x) |"
        )
    return lines


def images(which, n):
    from PIL import Image

    if which == "demo":
        from occlusion_widget import demo

        for kind in demo.CLASS_NAMES:
            for seed in range(n):
                yield f"{kind} seed {seed}", demo.sample_image(kind, seed=seed)[0]
    elif which == "cifar":
        for f in sorted((ASSETS / "cifar10" / "images").glob("*.png"))[:n]:
            yield f.name, np.asarray(Image.open(f).convert("RGB"))
    else:
        for f in sorted((ASSETS / "images").glob("*"))[:n]:
            yield f.name, np.asarray(Image.open(f).convert("RGB").resize((224, 224)))


def main(argv=None):
    import keras

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=["demo", "cifar", "photos"])
    parser.add_argument("--n", type=int, default=2)
    parser.add_argument("--patch", type=int)
    parser.add_argument("--stride", type=int)
    parser.add_argument(
        "--tolerances", default="", help="comma-separated, e.g. 0.15,0.3 (default: TOLERANCE)"
    )
    args = parser.parse_args(argv)
    prep = None
    if args.which == "demo":
        from occlusion_widget import demo

        model, patch, stride = demo.load_model(), 8, 2
    elif args.which == "cifar":
        model = keras.saving.load_model(ASSETS / "cifar10" / "cifar10_captum_lenet.keras")
        patch, stride = 8, 1

        def prep(b):
            return (b / 255.0 - 0.5) / 0.5
    else:
        model, patch, stride = keras.applications.MobileNetV2(weights="imagenet"), 16, 8
        prep = keras.applications.mobilenet_v2.preprocess_input
    patch, stride = args.patch or patch, args.stride or stride
    print(f"{args.which}: patch {patch}, stride {stride}")
    tols = [float(t) for t in args.tolerances.split(",") if t] or [None]
    print(
        "| image | grid | tolerance | x fewer passes | SSIM | class agreement | true mean err "
        "| estimate | every-2nd-cell SSIM (x fewer) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, image in images(args.which, args.n):
        for line in measure(model, image, patch, stride, prep, tols):
            print(f"| {name} | {line}", flush=True)


if __name__ == "__main__":
    main()
