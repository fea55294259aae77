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

Run: ``python -m benchmarks.bench_dataset [--cifar 200] [--big 50] [--cpus 2] [--mobilenet]``

``--floor`` measures the local backend against the model's floor instead (issue 20): 10,000
CIFAR-size images (the tiled assets), patch 8, stride 8 (17 passes each), swept with
``store=None`` and with a store, against the same number of passes through the engine's own
compiled forward on prebuilt batches of the same size; the per-image engine (one
``occlusion_map`` per image, timed on a sample) for comparison; then a few 224x224 photos
(MobileNetV2, ImageNet weights from ``KERAS_HOME``) swept by ``sweep_dataset`` against one
``occlusion_map`` per image, alternated.

Run: ``python -m benchmarks.bench_dataset --floor [--images 10000] [--photos 4]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
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


def timed_cpu(fn):
    """Wall and CPU seconds (all threads) of ``fn()``: on a machine shared with other work
    the CPU time is the steadier of the two."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


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
    cols = [c for c in a.columns if a[c].dtype == np.float64 and c not in ("seconds", "slot")]
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


def cifar_floor_rows(n, sample, tmp, with_store=True):
    """The packed sweep of ``n`` CIFAR-size images against the model's floor for its passes."""
    import keras

    import occlusion_widget as ow
    from occlusion_widget.engine import iter_occlusion_maps, validate_params
    from occlusion_widget.engine.batches import BatchBuilder
    from occlusion_widget.engine.model import make_forward
    from occlusion_widget.engine.params import packed_batch_size

    images, path, pre, what = cifar_workload(n, tmp)
    print(f"cifar: {what}, {n} images", flush=True)
    model = keras.saving.load_model(path) if isinstance(path, (str, Path)) else path
    sweep = {"patch_size": 8, "stride": 8, "preprocess": pre, "progress": False}
    forward = make_forward(model, pre, batch_shape=(1, 32, 32, 3))
    batch = packed_batch_size(32 * 32 * 3 * 4, forward.accelerator, forward.backend)
    # The floor: every pass's input built and preprocessed ahead (the engine's own builder),
    # then only the compiled model, in full batches; a block of images repeated to n's passes.
    block = images[: min(n, 1000)]
    items = validate_params(block[0], patch_size=8, stride=8).grid.total + 1
    raw = np.empty((len(block) * items, 32, 32, 3), np.float32)
    for i, image in enumerate(block):
        params = validate_params(image, patch_size=8, stride=8)
        builder = BatchBuilder(params.image.pixels, params.baseline, params.grid, 0)
        builder.fill_rows(raw[i * items : (i + 1) * items], 0)
    prepared = forward.prepare(raw)
    batches = [prepared[s : s + batch] for s in range(0, len(prepared) - batch + 1, batch)]
    passes = n * items

    def floor():
        done = 0
        while done < passes:
            for x in batches[: -(-(passes - done) // batch)]:
                forward.run(x)
                done += batch

    def per_image():
        for image in images[:sample]:
            ow.occlusion_map(model, image, **sweep)

    stores = iter(range(10**6))
    approaches = [
        ("floor: compiled model alone", floor),
        ("sweep_dataset, store=None", lambda: ow.sweep_dataset(model, images, **sweep)),
        (
            "sweep_dataset, Zarr store",
            lambda: ow.sweep_dataset(model, images, store=tmp / f"s{next(stores)}", **sweep),
        ),
    ]
    if not with_store:
        approaches.pop()
    ow.sweep_dataset(model, images[:64], **sweep)  # compile both paths once
    ow.occlusion_map(model, images[0], **sweep)
    times = {name: timed_cpu(fn) for name, fn in approaches}
    wall, cpu = timed_cpu(per_image)
    times["one occlusion_map per image"] = (wall * n / sample, cpu * n / sample)
    packed = iter_occlusion_maps(model, images[:50], **sweep)
    gap = max(
        float(np.abs(r.probabilities - ow.occlusion_map(model, i, **sweep).probabilities).max())
        for r, i in zip(packed, images[:50], strict=True)
    )
    base, base_cpu = times["floor: compiled model alone"]
    rows = []
    for name, (seconds, cpu) in times.items():
        note = f"sample of {sample}, scaled" if name.startswith("one occ") else ""
        rows.append(
            {
                "approach": name,
                "images": n,
                "passes": passes,
                "batch": batch,
                "seconds": seconds,
                "x floor": seconds / base,
                "cpu s": cpu,
                "cpu x floor": cpu / base_cpu,
                "images/s": n / seconds,
                "note": note,
            }
        )
    print(f"max |packed - occlusion_map| over 50 images (float32 probabilities): {gap:.2g}")
    return rows


def photos(n):
    from PIL import Image

    found = assets()
    names = ("elephant.jpg", "chelsea.png", "coffee.png", "astronaut.png")
    base = (
        [
            np.array(Image.open(found / "images" / name).convert("RGB").resize((224, 224)))
            for name in names
        ]
        if found
        else []
    )
    if not base:
        base = list(np.random.default_rng(1).integers(0, 256, (4, 224, 224, 3), dtype=np.uint8))
    return [
        base[i % len(base)][:, ::-1] if (i // len(base)) % 2 else base[i % len(base)]
        for i in range(n)
    ]


def photo_rows(n, repeats):
    """224x224 photos: sweep_dataset per image against one occlusion_map per image."""
    import keras

    import occlusion_widget as ow

    images = photos(n)
    model = keras.applications.MobileNetV2(weights="imagenet")
    sweep = {
        "patch_size": 16,
        "stride": 16,
        "progress": False,
        "preprocess": keras.applications.mobilenet_v2.preprocess_input,
    }

    def engine():
        for image in images:
            ow.occlusion_map(model, image, **sweep)

    approaches = {
        "one occlusion_map per image": engine,
        "sweep_dataset, store=None": lambda: ow.sweep_dataset(model, images, **sweep),
    }
    times = {name: [] for name in approaches}
    for fn in approaches.values():
        fn()  # warm: compile, and let method="auto" cache its choice
    for _ in range(repeats):
        for name, fn in approaches.items():
            times[name].append(timed_cpu(fn))
    base, base_cpu = np.median(times["one occlusion_map per image"], axis=0)
    info = ow.occlusion_map(model, images[0], **sweep).info.get("method")
    rows = []
    for name, runs in times.items():
        seconds, cpu = np.median(runs, axis=0)
        rows.append(
            {
                "approach": name,
                "images": n,
                "passes": n * 197,
                "batch": "auto",
                "seconds": float(seconds),
                "x floor": float(seconds / base),
                "cpu s": float(cpu),
                "cpu x floor": float(cpu / base_cpu),
                "images/s": n / float(seconds),
                "note": f"ratios to the per-image engine; method {info}; median of {len(runs)}",
            }
        )
    return rows


def floor_main(args, tmp):
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    if args.images:
        rows = cifar_floor_rows(args.images, args.sample, tmp, not args.no_store)
        print_row(rows[0], header=True)
        for row in rows[1:]:
            print_row(row)
    if args.photos:
        rows = photo_rows(args.photos, args.repeats)
        print("\n224x224 photos, MobileNetV2 (ImageNet weights), patch 16, stride 16:")
        print_row(rows[0], header=True)
        print_row(rows[1])
    print(f"load after: {os.getloadavg()[0]:.2f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cifar", type=int, default=200)
    parser.add_argument("--big", type=int, default=50)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--mobilenet", action="store_true")
    parser.add_argument("--floor", action="store_true", help="the local backend vs the floor")
    parser.add_argument("--images", type=int, default=10_000, help="0: the photos only")
    parser.add_argument("--sample", type=int, default=300, help="images for the per-image row")
    parser.add_argument("--photos", type=int, default=4, help="0: the CIFAR rows only")
    parser.add_argument("--no-store", action="store_true", help="skip the sweep with a store")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.floor:
        floor_main(args, Path(tempfile.mkdtemp()))
        return
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
