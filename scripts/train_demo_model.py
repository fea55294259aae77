"""Train the demo shapes model and write the weights the package ships.

Usage, from the repository root::

    python scripts/train_demo_model.py            # train, check, write the weights
    python scripts/train_demo_model.py --check    # only check the shipped weights

It writes ``occlusion_widget/data/demo_shapes.weights.h5`` (about 100 KB), which
``occlusion_widget.demo.load_model()`` loads; nothing in the package or the tests trains.

Deterministic: the data, the occluders and the batch order come from seeded NumPy generators,
the initial weights from seeded initialisers, and TensorFlow runs single-threaded with op
determinism on and oneDNN's reordering off, so the same library versions on the same machine
write the same file. (Another CPU or TensorFlow version may round differently and write slightly
different weights; that is why the file is shipped rather than trained on each machine.)

Before writing, the script checks the toy's known answer (see
``occlusion_widget.demo.training.check_toy``) and refuses to replace the shipped file with a model
that fails it. Takes a few minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Before TensorFlow is imported: oneDNN's fused kernels may reorder sums between runs.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _deterministic() -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the shipped weights")
    parser.add_argument(
        "--output", type=Path, default=None, help="where to write (default: the package's file)"
    )
    args = parser.parse_args(argv)

    _deterministic()
    from occlusion_widget import demo
    from occlusion_widget.demo.training import TrainingSettings, check_toy, train_model

    if args.check:
        report = check_toy(demo.load_model())
        print(report.summary())
        return 0 if report.holds else 1

    settings = TrainingSettings()
    print(f"training with {settings}", flush=True)
    start = time.perf_counter()
    model = train_model(settings, verbose=True)
    print(f"trained in {time.perf_counter() - start:.0f} s; checking the known answer", flush=True)
    report = check_toy(model)
    print(report.summary())
    if not report.holds:
        print("not written: the model fails the toy's known answer", file=sys.stderr)
        return 1
    output = args.output or demo.WEIGHTS_PATH
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(output)
    print(f"wrote {output} ({output.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
