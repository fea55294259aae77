"""The Ray actor's side of a dataset sweep: a block of images swept with the local backend's
packed loop, handed back whole.

An actor gets a block of images (hundreds of CIFAR-size ones, see :func:`block_size`) and
sweeps it with :func:`~.chunks.run_chunks`, the loop of ``backend="local"``: the positions of
consecutive images share each model call, and each image gets its row exactly as it would
locally. Nothing is written here: the block's rows and maps travel back to the driver, which
writes the block in one go (so a block an actor dies in leaves nothing behind, and a block Ray
runs again is written once).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os

import numpy as np

from .chunks import run_chunks
from .sources import Item
from .sweeper import ImageSweeper, item_error_row

__all__ = ["SweepActor", "block_size", "sweep_block"]

#: Images per block for CIFAR-size images (32x32); larger images get fewer (at least
#: :data:`MIN_BLOCK`), so that a block is about the same number of pixels.
IMAGES_PER_BLOCK = 512
MIN_BLOCK = 8
_BLOCK_PIXELS = IMAGES_PER_BLOCK * 32 * 32


def block_size(image_shape, images: int, actors: int) -> int:
    """Images per block: about :data:`IMAGES_PER_BLOCK` CIFAR-size images' pixels, and no
    more than an even share of the images per actor (so that every actor gets work).

    Examples
    --------
    >>> block_size((32, 32, 3), 10_000, 2), block_size((224, 224, 3), 10_000, 2)
    (512, 10)
    >>> block_size((32, 32, 3), 40, 2)
    20
    """
    by_pixels = max(MIN_BLOCK, _BLOCK_PIXELS // max(1, image_shape[0] * image_shape[1]))
    share = max(1, -(-images // max(1, actors)))
    return max(1, min(by_pixels, share))


def pack(image) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(image), allow_pickle=False)
    return buffer.getvalue()


def unpack(data: bytes):
    return np.load(io.BytesIO(data), allow_pickle=False)


def pack_arrays(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def unpack_arrays(data: bytes) -> dict:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def record(item) -> dict:
    """What a worker needs to rebuild ``item`` with the very key this process claimed (a
    stream's images are keyed by content); a path travels as bytes (it need not be UTF-8)."""
    return {
        "id": item.id,
        "path": os.fsencode(item.path) if item.path else b"",
        "label": int(item.label),
        "digest": item.digest,
        "by_content": bool(item.by_content),
        "occurrence": int(item.occurrence),
        "npy": b"" if item.path else pack(item.image),
    }


def item_of(data) -> Item:
    return Item(
        str(data["id"]),
        unpack(data["npy"]) if len(data["npy"]) else None,
        os.fsdecode(bytes(data["path"])),
        int(data["label"]),
        str(data["digest"]),
        bool(data["by_content"]),
        int(data["occurrence"]),
    )


class _Kept:
    """The store and the row writer of :func:`~.chunks.run_chunks`, inside an actor: keeps
    what it writes (the driver checks the parameters and writes)."""

    def __init__(self):
        self.rows: dict = {}
        self.arrays: dict = {}

    def check_params(self, *args, **kwargs) -> None:
        pass

    def write_arrays(self, key: str, arrays: dict) -> None:
        self.arrays[key] = arrays

    def add(self, row: dict) -> None:
        self.rows[row["key"]] = row


def sweep_block(model, params, items: list, image_shape, advice: str = "") -> list:
    """``[(row, arrays or None)]`` for ``items``, in their order, swept as the local backend
    sweeps them.

    An engine error before any image of the block has swept is the error row of the image
    it came from, marked ``_fatal`` (the driver raises it when no image at all has swept:
    a broken model or bad parameters), and the rest of the block is swept on.

    Examples
    --------
    >>> from occlusion_widget.dataset.sweeper import DatasetParams
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> items = [Item(str(i), np.full((8, 8), i, np.uint8), "", -1) for i in range(3)]
    >>> out = sweep_block(model, DatasetParams(patch_size=4, stride=4), items, (8, 8, 1))
    >>> [row["status"] for row, _ in out], out[0][1]["probabilities"].shape
    (['done', 'done', 'done'], (2, 2, 2))
    """
    kept = _Kept()
    rest = list(items)
    while rest:
        try:
            run_chunks(model, params, rest, kept, kept, image_shape)
            break
        except Exception as exc:  # nothing swept yet in this try: the first unrowed image's
            first = next((i for i, item in enumerate(rest) if item.key not in kept.rows), None)
            if first is None:
                raise
            row = item_error_row(rest[first], f"{type(exc).__name__}: {exc}{advice}")
            row["_fatal"] = True
            kept.add(row)
            rest = rest[first + 1 :]
    return [(kept.rows[item.key], kept.arrays.get(item.key)) for item in items]


class SweepActor:
    """One Ray actor: loads the model once, then sweeps blocks of images (:func:`sweep_block`)
    and hands back each image's row (JSON) and maps (npz bytes)."""

    def __init__(self, model, model_factory, params, image_shape):
        if model_factory is not None:
            model = model_factory()
        elif isinstance(model, str):
            import keras

            model = keras.saving.load_model(model)
        self.model = model
        self.image_shape = tuple(image_shape)
        # The driver fixed the dataset's channels (from the model where it could tell them
        # cheaply, else from the first image): every actor converts files to those.
        self.advice = ""
        if params.channels is None:
            declared = ImageSweeper(model, params, image_shape).channels
            params = dataclasses.replace(params, channels=int(image_shape[2]))
            if declared != image_shape[2]:
                self.advice = (
                    f"; the model takes {declared} channel(s) but the first image has "
                    f"{image_shape[2]}: pass channels={declared} to convert every file"
                )
        self.params = params
        self.worker = worker_name()

    def __call__(self, batch):
        import pandas as pd

        items = [item_of(data) for data in batch.to_dict("records")]
        rows, blobs = [], []
        for row, arrays in sweep_block(
            self.model, self.params, items, self.image_shape, self.advice
        ):
            row["_worker"] = self.worker
            if arrays is not None:
                row["_num_classes"] = len(arrays["base_probabilities"])
            # JSON keeps each row whole (NaN included) through Arrow, whatever its columns.
            rows.append(json.dumps(row))
            blobs.append(b"" if arrays is None else pack_arrays(arrays))
        return pd.DataFrame({"row": rows, "arrays": blobs})


def worker_name() -> str:
    """``<node id, 8 hex digits>:<process id>``: which node and process swept an image."""
    import ray

    return f"{ray.get_runtime_context().get_node_id()[:8]}:{os.getpid()}"
