"""Our engine against the peers on the same workload, each on the backend it supports.

* Captum ``Occlusion`` on the same Keras MobileNetV2 under the torch backend (a Keras 3 model on
  torch is a ``torch.nn.Module``), ``perturbations_per_eval`` tuned (the fastest of a few).
* tf-explain ``OcclusionSensitivity`` and Xplique ``Occlusion`` on TensorFlow.

Each peer runs in a subprocess together with our engine and the floor on that backend, all
alternated (warm-up, then the median of the timed runs). tf-explain has no stride (its windows
do not overlap: patch 16 means 196 positions), so it is compared with our engine at stride 16.
Peers compute one class's map; our engine keeps every class at every position: the comparison is
still the time for the map.

The peers live in ``benchmarks/.peers`` (git-ignored), installed apart from the project's
environment so that their pins never touch it (``--no-deps``: TensorFlow, torch and numpy come
from the project's environment)::

    python -m benchmarks.bench_peers --install
    python -m benchmarks.bench_peers [--quick]

A peer that does not install or import is skipped, with the reason.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from benchmarks import common

#: What the peers need beyond the project's environment (TF, torch, numpy, scipy, matplotlib).
PEER_PACKAGES = [
    "captum",
    "tf-explain",
    "opencv-python-headless",
    "xplique",
    "deprecated",
    "einops",
    "tensorflow-probability",
    "dm-tree",
    "cloudpickle",
    "decorator",
    "tf-keras~=2.21.0",
    "scikit-learn",
    "joblib",
    "threadpoolctl",
    "narwhals",
    "scikit-image",
    "lazy_loader",
    "imageio",
    "tifffile",
    "networkx",
]

PEERS = {
    # peer: the Keras backend it runs on
    "captum": "torch",
    "tf-explain": "tensorflow",
    "xplique": "tensorflow",
}


def install():
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target"]
    cmd += [str(common.PEERS), *PEER_PACKAGES]
    print(" ".join(cmd))
    return subprocess.run(cmd, check=False).returncode


def _engine_and_floor(stride, batch=None):
    """Our engine's sweep and the floor for it, on the current backend."""
    import occlusion_widget as ow

    net = common.model()
    image = common.image()
    prep = common.preprocess()
    batch = batch or common.engine_batch(stride)
    inputs, grid = common.occluded_inputs(stride, batch)

    def engine():
        return ow.occlusion_map(
            net,
            image,
            patch_size=common.PATCH,
            stride=stride,
            baseline="gray",
            preprocess=prep,
            batch_size=None,
            progress=False,
            # One pass per position, like every peer; method="auto": bench_auto.py.
            method="full",
        )

    return (
        net,
        prep(image.astype("float32")[None]),
        grid,
        batch,
        engine,
        common.floor(net, inputs, batch),
    )


def _captum(args):
    import torch
    from captum.attr import Occlusion

    net, x, grid, batch, engine, floor = _engine_and_floor(args.stride)
    tensor = torch.from_numpy(x)
    target = int(engine().base_class)
    occlusion = Occlusion(lambda t: net(t, training=False))

    def captum(ppe):
        def run():
            return occlusion.attribute(
                tensor,
                sliding_window_shapes=(common.PATCH, common.PATCH, 3),
                strides=(args.stride, args.stride, 3),
                baselines=0.0,  # the gray baseline after preprocess_input
                target=target,
                perturbations_per_eval=ppe,
            )

        return run

    # Tune perturbations_per_eval: the fastest of a few, each timed once after a warm-up.
    candidates = [32] if args.quick else [16, 64]
    tuning = {}
    for ppe in candidates:
        run = captum(ppe)
        run()
        t0 = time.perf_counter()
        run()
        tuning[ppe] = time.perf_counter() - t0
    best = min(tuning, key=tuning.get)
    note = "ppe tuned: " + ", ".join(f"{k}: {v:.1f} s" for k, v in tuning.items())
    return [
        ("captum Occlusion", captum(best), best, grid.total, note),
        ("occlusion_widget occlusion_map", engine, batch, grid.total, "all classes"),
        ("floor: compiled batched forward", floor, batch, grid.total, ""),
    ]


def _tf_explain(args):
    from tf_explain.core.occlusion_sensitivity import OcclusionSensitivity

    stride = common.PATCH  # tf-explain's windows do not overlap
    net, x, grid, batch, engine, floor = _engine_and_floor(stride)
    target = int(engine().base_class)
    explainer = OcclusionSensitivity(batch_size=batch)

    def tf_explain():
        return explainer.explain((x, None), net, target, common.PATCH)

    return [
        ("tf-explain OcclusionSensitivity", tf_explain, batch, grid.total, "predict(), 1 class"),
        ("occlusion_widget occlusion_map", engine, batch, grid.total, "all classes"),
        ("floor: compiled batched forward", floor, batch, grid.total, ""),
    ]


def _xplique(args):
    import numpy as np
    from xplique.attributions import Occlusion

    net, x, grid, batch, engine, floor = _engine_and_floor(args.stride)
    base = engine().base_probabilities
    targets = np.zeros((1, base.size), np.float32)
    targets[0, int(np.argmax(base))] = 1.0
    explainer = Occlusion(net, batch_size=batch, patch_size=common.PATCH, patch_stride=args.stride)

    def xplique():
        return explainer.explain(x, targets)

    return [
        ("xplique Occlusion", xplique, batch, grid.total, "1 class"),
        ("occlusion_widget occlusion_map", engine, batch, grid.total, "all classes"),
        ("floor: compiled batched forward", floor, batch, grid.total, ""),
    ]


def child(args):
    import keras

    backend = keras.backend.backend()
    build = {"captum": _captum, "tf-explain": _tf_explain, "xplique": _xplique}[args.child]
    approaches = build(args)
    timed = common.alternate([(name, fn) for name, fn, *_ in approaches], args.repeats)
    floor_median = statistics.median(timed["floor: compiled batched forward"]["times"])
    rows = []
    for name, _, batch, positions, note in approaches:
        approach = name if name.startswith(args.child) else f"{name} [vs {args.child}]"
        rows.append(
            common.row(
                approach,
                backend,
                batch,
                positions,
                timed[name]["times"],
                floor_median,
                timed[name]["peak_rss_mb"],
                note,
            )
        )
    common.emit(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stride 16 and 3 runs")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs of each (>= 3)")
    parser.add_argument("--install", action="store_true", help="install the peers, then exit")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--stride", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.install:
        sys.exit(install())
    args.stride = args.stride or (16 if args.quick else 8)
    args.repeats = max(3, args.repeats or 3)
    if args.child:
        child(args)
        return [], []
    rows, notes = [], []
    for peer in args.peers.split(","):
        if not common.PEERS.is_dir():
            notes.append(f"{peer}: skipped (not installed: run bench_peers.py --install)")
            continue
        child_args = ["--child", peer, "--stride", str(args.stride), "--repeats"]
        child_args.append(str(args.repeats))
        if args.quick:
            child_args.append("--quick")
        # The peers come first on the child's path (their pins, in that subprocess only).
        out = common.run_child(__file__, child_args, PEERS[peer], extra_path=common.PEERS)
        if out.get("error"):
            notes.append(f"{peer}: skipped ({out['error']})")
        rows += out["rows"]
    common.print_table(
        f"Peers: MobileNetV2 {common.SIZE}x{common.SIZE}, patch {common.PATCH}, stride "
        f"{args.stride} (tf-explain: stride {common.PATCH}), {args.repeats} alternated runs; "
        f"'x floor' is against the floor in the same process",
        rows,
    )
    for note in notes:
        print(note)
    return rows, notes


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
