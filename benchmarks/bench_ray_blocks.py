"""Ray in blocks: images per second against the number of actors (issue 20 item 4).

CIFAR-size images (the shared CIFAR-10 assets tiled, else seeded noise), the assets' CIFAR
CNN (else a seeded small CNN), patch 8, stride 8 (17 passes an image), each sweep into a fresh
Zarr store. Rows, alternated in each repeat: the local backend (one process, packed batches
across images), then ``backend="ray"`` with 1 and 2 actors (blocks of the default size), and
with 2 actors handed 4 images at a time (the hand-out size before blocks). Ray is started
once (``ray.init(num_cpus=<cpus>)``); each Ray sweep's actor-pool start-up (actors start and
load the model) is timed apart from a 2-image sweep with the same actors and subtracted for
"after start-up". More actors than cores only compete: on this 2-core machine, 2 is the most
that can help; a cluster adds cores with its nodes.

Run: ``python -m benchmarks.bench_ray_blocks [--images 4000] [--repeats 3] [--cpus 2]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    # The actors unpickle this script's preprocess (benchmarks.bench_dataset) by reference.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )
    import numpy as np
    import ray

    import occlusion_widget as ow
    from benchmarks.bench_dataset import cifar_workload, start_ray

    tmp = Path(tempfile.mkdtemp())
    images, model, pre, what = cifar_workload(args.images, tmp)
    print(f"cifar: {what}, {len(images)} images, load {os.getloadavg()[0]:.1f}", flush=True)
    sweep = {"patch_size": 8, "stride": 8, "preprocess": pre, "progress": False}
    stores = iter(range(10**6))

    def store():
        return tmp / f"s{next(stores)}"

    local = ow.sweep_dataset(model, images[:64], store=store(), **sweep)  # compile once
    init_start = time.perf_counter()
    start_ray(args.cpus)
    init_s = time.perf_counter() - init_start
    setups = {
        "local backend (1 process)": None,
        "ray, 1 actor": {"num_actors": 1},
        "ray, 2 actors": {"num_actors": 2},
        "ray, 2 actors, 4 images a block": {"num_actors": 2, "images_per_block": 4},
    }
    times = {name: [] for name in setups}
    startups = {name: [] for name in setups}
    for repeat in range(args.repeats):
        for name, options in setups.items():
            if options is None:
                start = time.perf_counter()
                local = ow.sweep_dataset(model, images, store=store(), **sweep)
                times[name].append(time.perf_counter() - start)
                startups[name].append(0.0)
                continue
            ray_sweep = dict(backend="ray", ray_options=options, **sweep)
            start = time.perf_counter()
            ow.sweep_dataset(model, images[:2], store=store(), **ray_sweep)
            startups[name].append(time.perf_counter() - start)
            start = time.perf_counter()
            remote = ow.sweep_dataset(model, images, store=store(), **ray_sweep)
            times[name].append(time.perf_counter() - start)
        print(f"repeat {repeat + 1} done, load {os.getloadavg()[0]:.1f}", flush=True)
    a = local.table.set_index("id").sort_index()
    b = remote.table.set_index("id").sort_index()
    cols = [c for c in a.columns if a[c].dtype == np.float64 and c not in ("seconds", "slot")]
    gap = float(np.nanmax(np.abs(a[cols].to_numpy() - b[cols].to_numpy())))
    ray.shutdown()
    n = len(images)
    base = n / statistics.median(times["local backend (1 process)"])
    print(f"\n`ray.init` {init_s:.1f} s; max |ray - local| over the table's numbers: {gap:.2g}")
    print(f"load after: {os.getloadavg()[0]:.1f}\n")
    print(
        "| setup | images/s (median) | runs (s) | pool start-up s | images/s after start-up "
        "| x local |"
    )
    print("|---|---|---|---|---|---|")
    for name in setups:
        seconds = statistics.median(times[name])
        startup = statistics.median(startups[name])
        after = n / max(1e-9, seconds - startup) if startup else n / seconds
        print(
            f"| {name} | {n / seconds:.0f} | {', '.join(f'{t:.1f}' for t in times[name])} | "
            f"{startup:.1f} | {after:.0f} | {(n / seconds) / base:.2f} |"
        )


if __name__ == "__main__":
    main()
