"""Dataset sweeps: images per second, local backend against Ray on a local instance.

Two workloads, each swept with ``backend="local"`` and then ``backend="ray"`` on a local Ray
(2 CPUs by default, one model-loading actor per CPU):

- ``cifar``: 200+ 32x32 images tiled from the shared CIFAR-10 assets (their 20 images, flipped
  and shifted), the assets' CIFAR-10 CNN, patch 8, stride 2 (169 positions); synthetic images
  and a seeded small CNN when the assets are absent;
- ``224``: 50+ synthetic 224x224 images, a seeded small CNN (MobileNetV2 with ``--mobilenet``),
  patch 16, stride 16 (196 positions).

Ray's start-up (``ray.init`` plus the actor pool loading the model) is timed apart, from a
2-image sweep; the overhead ratio compares Ray's time per image after start-up with the local
backend's. The last table is a paper estimate for ImageNet validation (50,000 images x 729
positions) from the measured per-image cost.

Run: ``python benchmarks/bench_dataset.py [--cifar 200] [--big 50] [--cpus 2] [--mobilenet]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

IMAGENET_IMAGES = 50_000
IMAGENET_POSITIONS = 729  # 224x224, patch 16, stride 8


def assets():
    env = os.environ.get("OCCLUSION_WIDGET_ASSETS")
    path = Path(env) if env else ROOT.parent / "shared" / "assets"
    return path if (path / "cifar10" / "cifar10_captum_lenet.keras").exists() else None


def small_cnn(size, path):
    """A seeded small CNN saved to ``path`` (the Ray actors load it from there)."""
    import keras

    rng = np.random.default_rng(0)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.set_weights([rng.normal(0, 0.2, w.shape).astype(np.float32) for w in model.get_weights()])
    model.save(path)
    return path


def cifar_workload(n, tmp):
    from PIL import Image

    found = assets()
    if found is None:
        rng = np.random.default_rng(0)
        images = list(rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8))
        return images, small_cnn(32, tmp / "cifar.keras"), None, "synthetic images, small CNN"
    files = sorted((found / "cifar10" / "images").glob("*.png"))
    base = [np.array(Image.open(f).convert("RGB")) for f in files]
    images = []
    for i in range(n):  # the 20 images, flipped and rolled so every one differs
        image = base[i % len(base)]
        image = image[:, ::-1] if (i // len(base)) % 2 else image
        images.append(np.ascontiguousarray(np.roll(image, i // (2 * len(base)), axis=1)))

    def preprocess(batch):
        return (batch / 255.0 - 0.5) / 0.5

    model = found / "cifar10" / "cifar10_captum_lenet.keras"
    return images, model, preprocess, "CIFAR-10 assets (tiled), their CNN"


def big_workload(n, tmp, mobilenet):
    rng = np.random.default_rng(1)
    images = list(rng.integers(0, 256, (n, 224, 224, 3), dtype=np.uint8))
    if mobilenet:
        import keras

        path = tmp / "mobilenet.keras"
        keras.applications.MobileNetV2(weights=None).save(path)
        return images, path, keras.applications.mobilenet_v2.preprocess_input, "MobileNetV2"
    return images, small_cnn(224, tmp / "big.keras"), None, "synthetic images, small CNN"


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def start_ray(cpus, tries=3):
    """``ray.init``, retried: Ray gives up after 30 s when the machine is overloaded."""
    import ray

    for attempt in range(tries):
        try:
            return ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        except Exception as error:
            print(f"ray.init failed ({error}); retry {attempt + 1}", flush=True)
            ray.shutdown()
    raise RuntimeError("Ray did not start on this machine")


def print_row(row, header=False):
    if header:
        print("| " + " | ".join(row) + " |")
        print("|" + "---|" * len(row))
    cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()]
    print("| " + " | ".join(cells) + " |", flush=True)


def run(name, images, model, preprocess, sweep, cpus, tmp):
    import ray

    import occlusion_widget as ow

    common = dict(preprocess=preprocess, progress=False, **sweep)
    local_s, local = timed(lambda: ow.sweep_dataset(model, images, **common))
    init_s, _ = timed(lambda: start_ray(cpus))
    opts = {"num_actors": cpus}
    warm_s, _ = timed(
        lambda: ow.sweep_dataset(model, images[:2], backend="ray", ray_options=opts, **common)
    )
    ray_s, remote = timed(
        lambda: ow.sweep_dataset(model, images, backend="ray", ray_options=opts, **common)
    )
    ray.shutdown()
    n = len(images)
    local_per = local_s / n
    # Start-up of one sweep_dataset call on Ray: the 2-image sweep minus its 2 images' work.
    startup = max(0.0, warm_s - 2 * local_per)
    ray_per = max(1e-9, ray_s - startup) / n
    a = local.table.set_index("id").sort_index()
    b = remote.table.set_index("id").sort_index()
    cols = [c for c in a.columns if a[c].dtype == np.float64 and c != "seconds"]
    gap = float(np.nanmax(np.abs(a[cols].to_numpy() - b[cols].to_numpy())))
    return {
        "workload": name,
        "images": n,
        "positions": int(local.table["positions"].iloc[0]),
        "local img/s": n / local_s,
        "ray img/s (incl. start-up)": n / ray_s,
        "ray img/s (after start-up)": 1 / ray_per,
        "ray/local time per image": ray_per / local_per,
        "ray.init s": init_s,
        "pool start-up s": startup,
        "max |ray-local|": gap,
        "local s/image": local_per,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cifar", type=int, default=200)
    parser.add_argument("--big", type=int, default=50)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--mobilenet", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    rows = []
    images, model, pre, what = cifar_workload(args.cifar, tmp)
    print(f"cifar: {what}", flush=True)
    rows.append(run("32x32", images, model, pre, {"patch_size": 8, "stride": 2}, args.cpus, tmp))
    print_row(rows[0], header=True)
    images, model, pre, what = big_workload(args.big, tmp, args.mobilenet)
    print(f"224: {what}", flush=True)
    rows.append(
        run("224x224", images, model, pre, {"patch_size": 16, "stride": 16}, args.cpus, tmp)
    )
    print_row(rows[1])
    big = rows[1]
    per_position = big["local s/image"] / big["positions"]
    total = IMAGENET_IMAGES * IMAGENET_POSITIONS * per_position
    print(
        f"\nImageNet val estimate ({IMAGENET_IMAGES} images x {IMAGENET_POSITIONS} positions) "
        f"from the measured {per_position * 1e3:.3f} ms per occluded image of the 224 workload:"
    )
    for workers in (1, 8, 64):
        hours = total / workers / 3600 * big["ray/local time per image"]
        print(f"  {workers:>3} workers like this machine, on Ray: {hours:8.1f} h")


if __name__ == "__main__":
    main()
