"""Where a dataset sweep is kept: Zarr arrays stacked across images, a Parquet table of rows.

Layout of a store folder (a local path or any fsspec URL), format 3::

    <store>/maps.zarr/            Zarr group; attrs: format_version, params, num_classes, kept
        probabilities             (slot, rows, cols, k) float16: all classes, or the top-k
        classes                   (slot, rows, cols, k) int32: which classes (top-k only)
        base_probabilities        (slot, K) float32: the unoccluded image, all classes
        image                     (slot, H, W, C) the raw image as swept (uint8 or float32)
        key                       (slot, 32) uint8: whose maps a slot holds
    <store>/table/part-*.parquet  one row per image (``summary.COLUMNS`` and its ``slot``)
    <store>/staged/               images done but not yet folded into their shard
    <store>/claims/               who sweeps which image and shard; the settled parameters
    <store>/writers/              heartbeats of the writers running now

Each array is sharded, 4,096 images per file, zstd-compressed (:mod:`.layout`); how images get
there without risk to those already in: :mod:`.shards`. An image's arrays are durable (staged)
before its row is written, and rows are the source of truth: the row names the image's slot,
carries a checksum of its maps (verified on every read, with the slot's key) and a digest of
the image (:mod:`.integrity`). Stores of format 2 and before (one group per image) are read
and appended to in their own layout (:mod:`.legacy`).
"""

from __future__ import annotations

import json
import os

import numpy as np

from .base import BaseStore
from .disk import DiskStore
from .integrity import StoreCorruptError
from .legacy import write_group
from .parts import arrow_schema, rows_to_arrow
from .summary import COLUMNS

__all__ = [
    "DiskStore",
    "MemoryStore",
    "arrow_schema",
    "open_store",
    "quantize",
    "rows_to_arrow",
    "write_arrays",
]


def quantize(probabilities: np.ndarray, keep: int) -> dict:
    """The stored form of one ``(rows, cols, K)`` map: float16, and the top ``keep`` classes per
    position when ``keep < K`` (their indices in ``classes``).

    Examples
    --------
    >>> p = np.array([[[0.1, 0.7, 0.2]]], np.float32)
    >>> q = quantize(p, 2)
    >>> q["classes"].tolist(), q["probabilities"].astype(float).round(2).tolist()
    ([[[1, 2]]], [[[0.7, 0.2]]])
    """
    k = probabilities.shape[-1]
    if keep >= k:
        return {"probabilities": probabilities.astype(np.float16)}
    top = np.argsort(-probabilities, axis=-1, kind="stable")[..., :keep].astype(np.int32)
    return {
        "probabilities": np.take_along_axis(probabilities, top, axis=-1).astype(np.float16),
        "classes": top,
    }


def expand(arrays: dict, num_classes: int) -> np.ndarray:
    """Back to ``(rows, cols, K)`` float32; classes outside a stored top-k read as 0."""
    probs = np.asarray(arrays["probabilities"], np.float32)
    if "classes" not in arrays:
        return probs
    out = np.zeros((*probs.shape[:2], num_classes), np.float32)
    np.put_along_axis(out, np.asarray(arrays["classes"], np.int64), probs, axis=-1)
    return out


class MemoryStore(BaseStore):
    """The store of ``store=None``: the same arrays and rows, in this process's memory.

    Examples
    --------
    >>> s = MemoryStore()
    >>> s.done_keys()
    set()
    """

    def __init__(self):
        self._meta = {}
        self._arrays = {}
        self._rows = []
        self._settled = {}

    def meta(self) -> dict:
        return self._meta

    def write_meta(self, meta: dict) -> None:
        self._meta.update(json.loads(json.dumps(meta)))

    def settle(self, name: str, content: dict) -> tuple[dict, bool]:
        ours = name not in self._settled
        return self._settled.setdefault(name, json.loads(json.dumps(content))), ours

    def write_arrays(self, key: str, arrays: dict) -> None:
        self._arrays[key] = {name: np.array(a, copy=True) for name, a in arrays.items()}

    def has_arrays(self, key: str) -> bool:
        return key in self._arrays

    def read_arrays(self, key: str) -> dict:
        if key not in self._arrays:
            raise StoreCorruptError(f"no maps for key {key!r} in this in-memory store")
        return self._arrays[key]

    def append_rows(self, rows: list) -> None:
        self._rows.extend(dict(r) for r in rows)

    def table_version(self) -> object:
        return len(self._rows)

    def _frame(self, repair=False):
        import pandas as pd

        return pd.DataFrame(self._rows, columns=list(COLUMNS)) if self._rows else None


def write_arrays(target, key: str, arrays: dict) -> None:
    """Write one image's arrays from a process that does not write its row (a Ray actor):
    ``target`` is ``DiskStore(url).group``. The arrays are durable when this returns; the
    process that writes the row finds their slot.

    """
    if isinstance(target, DiskStore):
        target.write_arrays(key, arrays)
        target.stage()
        return
    write_group(target, key, arrays)


def open_store(store, storage_options=None, mode="a"):
    """``None`` -> a :class:`MemoryStore`; a path or URL -> a :class:`DiskStore`; a store
    object is returned as is.

    Examples
    --------
    >>> type(open_store(None)).__name__
    'MemoryStore'
    >>> open_store("")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: store='' is no folder; give a folder path or an fsspec URL ...
    """
    if store is None:
        return MemoryStore()
    if isinstance(store, BaseStore):
        return store
    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(
            f"store must be a folder path or an fsspec URL (or None to keep the sweep in "
            f"memory); got {type(store).__name__}"
        )
    text = os.fspath(store)
    if not str(text).strip() or str(text).rstrip("/").endswith("://"):
        raise ValueError(
            f"store={text!r} is no folder; give a folder path or an fsspec URL "
            f"(e.g. store='sweeps/run1'), or store=None to keep the sweep in memory"
        )
    if "://" not in str(text) and mode != "r":  # a local folder: say what is wrong with it
        _check_local_folder(str(text))
    return DiskStore(store, storage_options, mode)


def _check_local_folder(path: str) -> None:
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(
            f"store={path!r} is a file; give a folder (created if missing), e.g. "
            f"store={os.path.splitext(path)[0] + '_sweep'!r}"
        )
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"cannot create the store folder {path!r} ({type(exc).__name__}: "
            f"{exc.strerror or exc}); give a folder you can write to"
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"the store folder {path!r} is not writable; give one you can write to")
