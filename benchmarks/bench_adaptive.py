"""method="adaptive" against the exact map, per image: passes saved, SSIM, class agreement.

For each image: the exact map (``method="auto"``: incremental where it pays) and the adaptive
one; the table gives how many times fewer forward passes the adaptive sweep ran, the SSIM of
the unoccluded class's sensitivity maps, the share of cells whose predicted class agrees, the
true mean error (max over classes, mean over cells) and the adaptive sweep's own estimate.

Usage::

    python benchmarks/bench_adaptive.py demo            # the demo shapes, patch 8, stride 2
    python benchmarks/bench_adaptive.py cifar --n 20    # the shared CIFAR images, patch 8, stride 1
    python benchmarks/bench_adaptive.py photos --stride 8   # shared photos, MobileNetV2, patch 16
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
ASSETS = Path(
    os.environ.get("OCCLUSION_WIDGET_ASSETS", Path(__file__).parents[2] / "shared/assets")
)


def measure(model, image, patch, stride, preprocess=None):
    import occlusion_widget as ow
    from occlusion_widget.engine.adaptive import ssim

    kw = dict(progress=False, preprocess=preprocess)
    exact = ow.occlusion_map(model, image, patch_size=patch, stride=stride, method="auto", **kw)
    approx = ow.occlusion_map(
        model, image, patch_size=patch, stride=stride, method="adaptive", **kw
    )
    c = exact.base_class
    agree = np.mean(exact.predicted_classes() == approx.predicted_classes())
    err = np.abs(exact.probabilities - approx.probabilities).max(-1).mean()
    est = approx.info["error_estimate"]
    return (
        f"{exact.rows}x{exact.cols} | {approx.info['passes_saved']:.2f} | "
        f"{ssim(exact.sensitivity(c), approx.sensitivity(c)):.3f} | {agree:.3f} | {err:.4f} | "
        f"{est['mean_abs']:.4f} |"
    )


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
    print("| image | grid | x fewer passes | SSIM | class agreement | true mean err | estimate |")
    print("|---|---|---|---|---|---|---|")
    for name, image in images(args.which, args.n):
        print(f"| {name} | {measure(model, image, patch, stride, prep)}", flush=True)


if __name__ == "__main__":
    main()
