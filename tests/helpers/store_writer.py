"""A writer process for the store tests: sweeps banded images into a store with a numpy model.

    python -m tests.helpers.store_writer STORE STRIDE N SYNC MODE

MODE ``meet``: the first model call waits (up to 120 s) until another writer has made its own
first call, so that two writers overlap for sure. MODE ``hold``: the first model call waits until
the file SYNC/release exists. MODE ``hang``: the model hangs at its fourth call (to be killed).
MODE ``other``: sweeps other images (the banded ones mirrored left to right) under the same ids.
Patch 8, black baseline, batch 4 (under one image's 5 passes), chunks and claims of 2 images: a
writer claims only the images its next model calls need, so two writers on 10 images overlap. Prints
``passes=<positions swept>`` at the end; exits 3 with the message on a ValueError.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

import occlusion_widget as ow
from occlusion_widget.dataset import chunks, resume
from tests.helpers.models_dataset import brightness_model


def banded(n, size=12):
    out = np.full((n, size, size, 3), 40, np.uint8)
    for i in range(n):
        out[i, (i % 3) * 4 : (i % 3) * 4 + 4] = 200
        out[i, :, i % size] = 90 + i  # every image distinct
    return out


def wait_for(predicate, limit=120.0):
    end = time.monotonic() + limit
    while not predicate() and time.monotonic() < end:
        time.sleep(0.02)


def main(store, stride, n, sync, mode):
    sync = Path(sync)
    inner = brightness_model()
    calls, swept = [], []

    def model(batch):
        calls.append(len(batch))
        # Positions swept: rows with a black patch (not the unoccluded image, not padding).
        swept.append(int((np.asarray(batch).reshape(len(batch), -1).min(axis=1) == 0).sum()))
        if len(calls) == 1 and mode == "meet":
            (sync / f"ready-{os.getpid()}").touch()
            wait_for(lambda: len(list(sync.glob("ready-*"))) >= 2)
        if len(calls) == 1 and mode == "hold":
            (sync / "started").touch()
            wait_for((sync / "release").exists)
        if len(calls) == 4 and mode == "hang":
            (sync / "hanging").touch()
            time.sleep(600)
        return inner(batch)

    try:
        ow.sweep_dataset(
            model,
            banded(n)[:, :, ::-1] if mode == "other" else banded(n),
            store=store,
            patch_size=8,
            stride=stride,
            baseline="black",
            batch_size=4,
            progress=False,
        )
    except ValueError as exc:
        print(f"refused: {exc}", flush=True)
        return 3
    print(f"passes={sum(swept)}", flush=True)
    return 0


if __name__ == "__main__":
    store, stride, n, sync, mode = sys.argv[1:6]
    chunks.CHUNK_IMAGES = 2  # claims follow the model calls closely
    resume.CLAIM_IMAGES = 2
    sys.exit(main(store, int(stride), int(n), sync, mode))
