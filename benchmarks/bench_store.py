"""The stacked store (format 3) at scale: sweep time with the store against the floor, files
and bytes per image, and the paper estimate for ImageNet's validation set (issue 20 items 2, 5).

- CIFAR-size: ``--images`` (10,000) 32x32 images (the 20 shared CIFAR-10 images, flipped and
  rolled so each differs: ``bench_dataset.cifar_workload``), the shared CIFAR-10 CNN, patch 8,
  stride 8 (17 passes each), swept into a store folder; against the same passes through the
  engine's compiled forward alone (``bench_dataset.cifar_floor_rows``'s floor), and against
  ``store=None``; ``--rounds`` alternated rounds, medians. Then ``--more`` images once (a
  larger store: files and bytes, time per image).
- 224x224: ``--photos`` (64) of the four shared photos, flipped and rolled, MobileNetV2 with the
  ImageNet weights of ``KERAS_HOME``, patch 16, stride 16 (197 passes), into a store.
- ImageNet validation (50,000 images, 224x224, patch 16, stride 8: 729 positions), on paper:
  files from the layout, bytes from the 224 store's measured bytes per field (the map fields
  scaled to 729 positions), time from the measured time per pass.

Files count everything under the store folder (shards, metadata, table parts, claims);
"data" is the bytes of the arrays the store keeps per image, uncompressed.

Run: ``python benchmarks/bench_store.py [--images 10000] [--more 30000] [--photos 64]``
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_dataset import cifar_workload, photos, print_row, timed_cpu  # noqa: E402

IMAGENET_IMAGES = 50_000
IMAGENET_POSITIONS = 729


def print_rows(rows) -> None:
    """One table: every row with every column (blank where a row has none)."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    for i, row in enumerate(r for r in rows if r):
        print_row({k: row.get(k, "") for k in columns}, header=i == 0)


def folder_stats(store) -> tuple[int, int]:
    files = [p for p in Path(store).rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def field_bytes(store) -> dict:
    """Bytes on disk per field of the maps (its shards), and of the rest of the folder."""
    out = {}
    maps = Path(store) / "maps.zarr"
    for field in sorted(p.name for p in maps.iterdir() if p.is_dir()):
        out[field] = sum(p.stat().st_size for p in (maps / field).rglob("*") if p.is_file())
    total = folder_stats(store)[1]
    out["table, metadata, claims"] = total - sum(out.values())
    return out


def data_bytes(ds) -> int:
    """Uncompressed bytes of the arrays kept per image (one image read back), times images."""
    key = ds.table.loc[ds.table["status"] == "done", "key"].iloc[0]
    arrays = ds.store.read_many([key])[key]
    return sum(a.nbytes for a in arrays.values()) * int((ds.table["status"] == "done").sum())


def store_row(name, n, seconds, cpu, store, ds, base=None):
    files, size = folder_stats(store)
    data = data_bytes(ds)
    row = {
        "run": name,
        "images": n,
        "seconds": seconds,
        "x floor": seconds / base[0] if base else "",
        "cpu s": cpu,
        "cpu x floor": cpu / base[1] if base else "",
        "ms/image": 1e3 * seconds / n,
        "files": files,
        "files per 1000 images": 1e3 * files / n,
        "bytes/image": size / n,
        "bytes / data": size / data,
    }
    return row


def cifar(args, tmp):
    import keras

    import occlusion_widget as ow
    from occlusion_widget.engine import validate_params
    from occlusion_widget.engine.batches import BatchBuilder
    from occlusion_widget.engine.model import make_forward
    from occlusion_widget.engine.params import packed_batch_size

    n = args.images
    images, path, pre, what = cifar_workload(max(n, args.more), tmp)
    print(f"cifar: {what}", flush=True)
    model = keras.saving.load_model(path)
    sweep = {"patch_size": 8, "stride": 8, "preprocess": pre, "progress": False}
    forward = make_forward(model, pre, batch_shape=(1, 32, 32, 3))
    batch = packed_batch_size(32 * 32 * 3 * 4, forward.accelerator, forward.backend)
    block = images[:1000]
    items = validate_params(block[0], patch_size=8, stride=8).grid.total + 1
    raw = np.empty((len(block) * items, 32, 32, 3), np.float32)
    for i, image in enumerate(block):
        params = validate_params(image, patch_size=8, stride=8)
        BatchBuilder(params.image.pixels, params.baseline, params.grid, 0).fill_rows(
            raw[i * items : (i + 1) * items], 0
        )
    prepared = forward.prepare(raw)
    batches = [prepared[s : s + batch] for s in range(0, len(prepared) - batch + 1, batch)]

    def floor(count):
        done, passes = 0, count * items
        while done < passes:
            for x in batches[: -(-(passes - done) // batch)]:
                forward.run(x)
                done += batch

    ow.sweep_dataset(model, images[:64], **sweep)  # compile once
    stores = iter(range(10**6))
    last = {}

    def into_store(count):
        store = tmp / f"s{next(stores)}"
        last["store"], last["ds"] = (
            store,
            ow.sweep_dataset(model, images[:count], store=store, **sweep),
        )

    runs = {"floor": [], "store=None": [], "store": []}
    if not args.with_none:
        del runs["store=None"]
    for r in range(args.rounds):
        runs["floor"].append(timed_cpu(lambda: floor(n)))
        if "store=None" in runs:
            runs["store=None"].append(
                timed_cpu(lambda: ow.sweep_dataset(model, images[:n], **sweep))
            )
        runs["store"].append(timed_cpu(lambda: into_store(n)))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1][0]:.1f} s" for k, v in runs.items()))
        print(f"  load {os.getloadavg()[0]:.1f}", flush=True)
    base = tuple(np.median(runs["floor"], axis=0))
    rows = [
        {
            "run": "floor: compiled model alone",
            "images": n,
            "seconds": base[0],
            "x floor": 1.0,
            "cpu s": base[1],
            "cpu x floor": 1.0,
            "ms/image": 1e3 * base[0] / n,
        }
    ]
    wall, cpu = np.median(runs.get("store=None", [(np.nan, np.nan)]), axis=0)
    rows.append(
        {}
        if "store=None" not in runs
        else {
            "run": "sweep_dataset, store=None",
            "images": n,
            "seconds": wall,
            "x floor": wall / base[0],
            "cpu s": cpu,
            "cpu x floor": cpu / base[1],
            "ms/image": 1e3 * wall / n,
        }
    )
    wall, cpu = np.median(runs["store"], axis=0)
    rows.append(
        store_row("sweep_dataset, store folder", n, wall, cpu, last["store"], last["ds"], base)
    )
    print(f"per field, {n} images: {field_bytes(last['store'])}")
    if args.more:
        floor_more = timed_cpu(lambda: floor(args.more))
        wall, cpu = timed_cpu(lambda: into_store(args.more))
        name = f"sweep_dataset, store folder, {args.more} images (once)"
        rows.append(store_row(name, args.more, wall, cpu, last["store"], last["ds"], floor_more))
        rows.append(
            {
                "run": f"floor, {args.more} images (once)",
                "images": args.more,
                "seconds": floor_more[0],
                "x floor": 1.0,
                "cpu s": floor_more[1],
                "cpu x floor": 1.0,
                "ms/image": 1e3 * floor_more[0] / args.more,
            }
        )
    return rows


def photos_224(args, tmp):
    import keras

    import occlusion_widget as ow

    base = photos(4)
    images = [
        np.ascontiguousarray(np.roll(base[i % 4], 7 * (i // 4), axis=1)) for i in range(args.photos)
    ]
    images = [im[:, ::-1] if (i // 4) % 2 else im for i, im in enumerate(images)]
    model = keras.applications.MobileNetV2(weights="imagenet")
    sweep = {
        "patch_size": 16,
        "stride": 16,
        "progress": False,
        "preprocess": keras.applications.mobilenet_v2.preprocess_input,
    }
    ow.sweep_dataset(model, images[:2], **sweep)  # compile, and let auto decide
    store = tmp / "photos"
    holder = {}
    wall, cpu = timed_cpu(
        lambda: holder.setdefault("ds", ow.sweep_dataset(model, images, store=store, **sweep))
    )
    ds = holder["ds"]
    row = store_row("224x224 MobileNetV2, store folder", len(images), wall, cpu, store, ds)
    return row, field_bytes(store), ds


def imagenet(photo_row, fields, photos_n, positions):
    """ImageNet validation on paper, from the 224 store (see the module docstring)."""
    from occlusion_widget.dataset.layout import SHARD_IMAGES

    scale = IMAGENET_POSITIONS / positions
    maps = ("probabilities", "classes")
    per_image = {
        name: size / photos_n * (scale if name in maps else 1.0)
        for name, size in fields.items()
        if name != "table, metadata, claims"
    }
    per_image["table"] = fields["table, metadata, claims"] / photos_n
    shards = math.ceil(IMAGENET_IMAGES / SHARD_IMAGES) * (len(fields) - 1)
    files = shards + len(fields) + 5 + 2  # arrays' metadata + group; <= 5 table parts; params
    seconds = photo_row["seconds"] / photos_n * scale
    cpu = photo_row["cpu s"] / photos_n * scale
    return {
        "images": IMAGENET_IMAGES,
        "positions": IMAGENET_POSITIONS,
        "files (at most)": files,
        "files per 1000 images": 1e3 * files / IMAGENET_IMAGES,
        "GB on disk": sum(per_image.values()) * IMAGENET_IMAGES / 1e9,
        "KB/image": sum(per_image.values()) / 1e3,
        "hours, this machine (1 process, loaded)": IMAGENET_IMAGES * seconds / 3600,
        "CPU hours": IMAGENET_IMAGES * cpu / 3600,
        "per field KB/image": {k: round(v / 1e3, 1) for k, v in per_image.items()},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--more", type=int, default=30_000, help="0: skip the larger store")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--photos", type=int, default=64, help="0: skip the 224 set")
    parser.add_argument(
        "--with-none", action="store_true", help="also time store=None in each round"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    start = time.perf_counter()
    if args.images:
        print_rows(cifar(args, tmp))
    if args.photos:
        row, fields, ds = photos_224(args, tmp)
        print("\n224x224 photos:")
        print_rows([row])
        print(f"per field: {fields}")
        positions = int(ds.table["positions"].iloc[0])
        print(f"\nImageNet validation on paper: {imagenet(row, fields, args.photos, positions)}")
    print(f"load after: {os.getloadavg()[0]:.2f}; {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
