"""The guides' figures and live maps, made from today's code at build time.

``python scripts/docs/docs_figures.py OUT`` writes ``OUT/figures/*.png`` (matplotlib) and
``OUT/maps/*.html`` (standalone pages, exactly what ``OcclusionWidget.to_html`` writes). The
docs hook calls :func:`make_all`. Real models come from the shared assets (MobileNetV2 and the
elephant photo, the CIFAR-10 ship); without them the same pages show the shipped demo model,
and the guide says which ran (``OUT/assets.txt``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np


def assets_dir() -> Path | None:
    configured = os.environ.get("OCCLUSION_WIDGET_ASSETS")
    path = Path(configured) if configured else Path(__file__).resolve().parents[3] / "shared/assets"
    return path if path.is_dir() else None


def make_all(out: Path) -> list[str]:
    """Write every figure and page under ``out``; return what ran, one line each."""
    import matplotlib

    matplotlib.use("Agg")
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "maps").mkdir(parents=True, exist_ok=True)
    log = []
    log += _patch_stride_fill(out)
    log += _reveal_figure(out)
    log += _elephant_page(out)
    log += _ship_pages(out)
    log += _dataset_page(out)
    (out / "assets.txt").write_text("\n".join(log) + "\n", encoding="utf-8")
    return log


# -- the toy: patch size, stride, fill ------------------------------------------------------


def _demo():
    import occlusion_widget as ow

    model = ow.demo.load_model()
    image, box = ow.demo.sample_image("triangle", seed=3)
    return ow, model, image, box


def _grid(out: Path, name: str, title: str, panels) -> None:
    import matplotlib.pyplot as plt

    import occlusion_widget as ow

    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6))
    for ax, (caption, result, image) in zip(axes, panels, strict=True):
        ow.visualize(result, image, axes=ax)
        ax.set_title(caption, fontsize=10)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(out / "figures" / name, dpi=80)
    plt.close(fig)


def _patch_stride_fill(out: Path) -> list[str]:
    ow, model, image, _ = _demo()

    def sweep(**kwargs):
        return ow.occlusion_map(model, image, progress=False, **kwargs)

    patches = [(p, sweep(patch_size=p, stride=4)) for p in (4, 12, 24)]
    _grid(
        out,
        "patch_size.png",
        "Patch size decides what one patch can hide (stride 4)",
        [(f"patch {p}: largest drop {r.max_drop():.2f}", r, image) for p, r in patches],
    )
    strides = [(s, sweep(patch_size=12, stride=s)) for s in (12, 6, 2)]
    _grid(
        out,
        "stride.png",
        "Stride makes the map smoother, not sharper (patch 12)",
        [(f"stride {s}: {r.total} positions", r, image) for s, r in strides],
    )
    fills = [(b, sweep(patch_size=12, stride=4, baseline=b)) for b in ("gray", "black", "blur")]
    _grid(
        out,
        "fill.png",
        "The fill is part of the question (patch 12, stride 4)",
        [(f'"{b}": largest drop {r.max_drop():.2f}', r, image) for b, r in fills],
    )
    return ["figures: demo model (patch size, stride, fill)"]


def _reveal_figure(out: Path) -> list[str]:
    import matplotlib.pyplot as plt

    ow, model, image, _ = _demo()
    names = ow.demo.CLASS_NAMES
    fig, axes = plt.subplots(2, 3, figsize=(10, 6.6))
    for row, mode in enumerate(("occlude", "reveal")):
        result = ow.occlusion_map(model, image, patch_size=16, stride=4, mode=mode, progress=False)
        ow.plot_class_map(result, labels=names, axes=axes[row])
        axes[row][0].set_ylabel("occlusion" if mode == "occlude" else mode, fontsize=11)
    fig.tight_layout()
    fig.savefig(out / "figures" / "occlusion_vs_reveal.png", dpi=80)
    plt.close(fig)
    # The toy's live page, for the teaching guide: every class, any target, no kernel.
    result = ow.occlusion_map(model, image, patch_size=12, stride=4, progress=False)
    ow.export_html(result, out / "maps" / "toy.html", labels=names, title="The toy: a triangle")
    return ["toy page and occlusion/reveal figure: demo model"]


# -- the real models ------------------------------------------------------------------------


def _elephant_page(out: Path) -> list[str]:
    ow = __import__("occlusion_widget")
    assets = assets_dir()
    weights = (
        assets / "keras_home/models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
        if assets
        else None
    )
    photo = assets / "images/elephant.jpg" if assets else None
    if weights is None or not weights.exists() or not photo.exists():
        _, model, image, _ = _demo()
        result = ow.occlusion_map(model, image, patch_size=12, stride=4, progress=False)
        ow.export_html(result, out / "maps" / "first_map.html", labels=ow.demo.CLASS_NAMES)
        return ["first map: demo model (no ImageNet weights in the shared assets)"]
    import keras
    from PIL import Image

    model = keras.applications.MobileNetV2(weights="imagenet")
    image = np.array(Image.open(photo).convert("RGB").resize((224, 224)))
    result = ow.occlusion_map(
        model,
        image,
        patch_size=32,
        stride=16,
        preprocess=keras.applications.mobilenet_v2.preprocess_input,
        progress=False,
    )
    ow.export_html(
        result, out / "maps" / "first_map.html", labels="imagenet", title="MobileNetV2: elephant"
    )
    return ["first map: MobileNetV2 on the elephant photo (ImageNet weights)"]


def _cifar():
    assets = assets_dir()
    cifar = assets / "cifar10" if assets else None
    if cifar is None or not (cifar / "cifar10_captum_lenet.keras").exists():
        return None
    return cifar


def _cifar_preprocess(batch):
    return (batch / 255.0 - 0.5) / 0.5


def _ship_pages(out: Path) -> list[str]:
    import occlusion_widget as ow

    cifar = _cifar()
    # What notebooks/predicted_class_map.ipynb sweeps, in both of its branches.
    if cifar is None:
        model = ow.demo.load_model()
        image, _ = ow.demo.sample_image("circle", seed=5)
        labels, preprocess, patch, stride = ow.demo.CLASS_NAMES, None, 16, 4
        what = "demo model on a circle (no CIFAR-10 model in the shared assets)"
    else:
        import keras
        from PIL import Image

        model = keras.saving.load_model(cifar / "cifar10_captum_lenet.keras")
        ship = cifar / "images" / "cifar10_02_8.png"
        image = np.array(Image.open(ship).convert("RGB"))
        labels, preprocess, patch, stride = "cifar10", _cifar_preprocess, 12, 2
        what = f"CIFAR-10 model on {ship.name}"
    for mode, name in (("occlude", "occlusion"), ("reveal", "reveal")):
        result = ow.occlusion_map(
            model,
            image,
            patch_size=patch,
            stride=stride,
            mode=mode,
            preprocess=preprocess,
            progress=False,
        )
        ow.export_html(
            result,
            out / "maps" / f"ship_{name}.html",
            labels=labels,
            view="predicted_class",
            title=f"Predicted class at each position: {name}",
        )
    return [f"predicted-class pages: {what}"]


def _dataset_page(out: Path) -> list[str]:
    import occlusion_widget as ow

    cifar = _cifar()
    if cifar is None:
        names = ow.demo.CLASS_NAMES
        images = [ow.demo.sample_image(names[i % 4], seed=i)[0] for i in range(8)]
        truth = [i % 4 for i in range(8)]
        model, sweep = ow.demo.load_model(), {"patch_size": 12, "stride": 4}
        labels, what = names, "demo model, 8 shapes"
    else:
        from PIL import Image

        files = sorted((cifar / "images").glob("cifar10_*.png"))
        images = [np.array(Image.open(p).convert("RGB")) for p in files]
        truth = [int(p.stem.split("_")[-1]) for p in files]
        model = cifar / "cifar10_captum_lenet.keras"
        sweep = {"patch_size": 8, "stride": 2, "preprocess": _cifar_preprocess}
        labels, what = ow.labels.cifar10(), f"CIFAR-10 model, {len(files)} test images"
    ds = ow.sweep_dataset(model, images, labels=truth, store=None, progress=False, **sweep)
    worst = ds.fragile(1).iloc[0]
    ow.export_html(
        ds.result(worst.id),
        out / "maps" / "fragile.html",
        labels=labels,
        title=f"The most fragile image: {worst.id}",
    )
    return [f"dataset page: {what}"]


if __name__ == "__main__":
    for line in make_all(Path(sys.argv[1])):
        print(line)
