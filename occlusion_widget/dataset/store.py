"""Where a dataset sweep is kept: a Zarr group of per-image maps, a Parquet table of rows.

Layout of a store folder (a local path or any fsspec URL)::

    <store>/maps.zarr/            Zarr group; attrs: format_version, params, num_classes, kept
        <key>/probabilities       (rows, cols, k) float16: all classes, or the top-k per position
        <key>/classes             (rows, cols, k) int32: which classes those are (top-k only)
        <key>/base_probabilities  (K,) float32: the unoccluded image, all classes
        <key>/image               (H, W, C) the raw image as swept (uint8 or float32)
    <store>/table/part-*.parquet  one row per image (see ``summary.COLUMNS``)

An image's arrays are written before its row, and rows are the source of truth: a crash
mid-image leaves arrays without a row, which the next run simply overwrites. Rows are appended
as small part files, so nothing already written is ever rewritten. When an image appears in
several rows (an error retried, a re-run), the last row wins.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import numpy as np

from .identity import model_mismatch
from .summary import COLUMNS

__all__ = ["DiskStore", "MemoryStore", "open_store", "quantize"]

FORMAT_VERSION = 1
_MISSING = (
    "a dataset store on disk needs zarr, pyarrow, pandas and fsspec: "
    "pip install 'occlusion_widget[dataset]' (or pass store=None to keep the sweep in memory)"
)


def _require():
    try:
        import fsspec
        import pandas
        import pyarrow
        import zarr
    except ImportError as exc:
        raise ImportError(f"{_MISSING} ({exc})") from exc
    return zarr, pyarrow, pandas, fsspec


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


def _params_mismatch(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return "; ".join(f"{k}: store has {old.get(k)!r}, this sweep {new.get(k)!r}" for k in keys)


class _Base:
    """What both stores share: parameter check and the table as pandas."""

    location = "memory"

    def check_params(self, params: dict, num_classes: int, keep: int) -> None:
        """Record the parameters of a new store, or refuse a store written with others."""
        meta = self.meta()
        if "params" not in meta:
            self.write_meta(
                {
                    "format_version": FORMAT_VERSION,
                    "params": params,
                    "num_classes": num_classes,
                    "kept_classes": keep,
                }
            )
            return
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(
                f"the store at {self.location} was written by a newer occlusion_widget "
                f"(format {meta['format_version']}); upgrade to add to it"
            )
        old = dict(meta["params"], num_classes=meta["num_classes"])
        new = dict(params, num_classes=num_classes)
        # The model is compared on its own terms (a store written before it was recorded has
        # none, and a callable is known by name only).
        model = model_mismatch(old.pop("model", None), new.pop("model", None))
        if model:
            raise ValueError(
                f"the store at {self.location} was written by another model: this sweep gives "
                f"{model}. Resume it with the model that wrote it, or give a new store path"
            )
        diff = _params_mismatch(old, new)
        if diff:
            raise ValueError(
                f"the store at {self.location} was written with other sweep parameters ({diff}). "
                f"Resume it with the same parameters, or give a new store path"
            )

    def table(self):
        """All rows as a pandas DataFrame, one per image (the last row of an image wins)."""
        import pandas as pd

        frame = self._frame()
        if frame is None or frame.empty:
            return pd.DataFrame(
                {name: pd.Series(dtype=_pandas_dtype(t)) for name, t in COLUMNS.items()}
            )
        frame = frame.drop_duplicates("key", keep="last").reset_index(drop=True)
        for name, kind in COLUMNS.items():
            if kind.startswith("list"):  # Parquet gives arrays: the same lists in both stores
                # A row that never had the column (an error row) reads as a missing value.
                frame[name] = [
                    [int(x) for x in cell] if hasattr(cell, "__iter__") else []
                    for cell in frame[name]
                ]
        return frame

    def done_keys(self) -> set:
        """Keys of the images swept without error (a resumed sweep skips them)."""
        table = self.table()
        return set(table.loc[table["status"] == "done", "key"])


def _pandas_dtype(kind):
    return {"string": object, "int64": "int64", "float64": "float64", "bool": object}.get(
        kind, object
    )


class MemoryStore(_Base):
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

    def meta(self) -> dict:
        return self._meta

    def write_meta(self, meta: dict) -> None:
        self._meta.update(json.loads(json.dumps(meta)))

    def write_arrays(self, key: str, arrays: dict) -> None:
        self._arrays[key] = {name: np.array(a, copy=True) for name, a in arrays.items()}

    def read_arrays(self, key: str) -> dict:
        return self._arrays[key]

    def append_rows(self, rows: list) -> None:
        self._rows.extend(dict(r) for r in rows)

    def _frame(self):
        import pandas as pd

        return pd.DataFrame(self._rows, columns=list(COLUMNS)) if self._rows else None


class DiskStore(_Base):
    """A store folder on a local path or an fsspec URL (see the module docstring).

    Examples
    --------
    >>> store = DiskStore("sweeps/cifar")  # doctest: +SKIP
    >>> store.table().head()  # doctest: +SKIP
    """

    def __init__(self, url, storage_options=None, mode="a"):
        zarr, _, _, fsspec = _require()
        self.url = os.fspath(url).rstrip("/")
        self.location = repr(self.url)
        self.storage_options = dict(storage_options or {})
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **self.storage_options)
        if mode == "r" and not self.fs.exists(f"{self.root}/maps.zarr"):
            raise FileNotFoundError(
                f"no dataset store at {self.url!r} (expected {self.url}/maps.zarr and "
                f"{self.url}/table/); write one with ow.sweep_dataset(..., store=...)"
            )
        self._zarr = zarr
        self.group = zarr.open_group(
            f"{self.url}/maps.zarr", mode=mode, storage_options=self._zarr_options()
        )

    def _zarr_options(self):
        # zarr passes storage_options to fsspec for URLs only; a plain path takes none.
        return self.storage_options or None if "://" in self.url else None

    def meta(self) -> dict:
        return dict(self.group.attrs)

    def write_meta(self, meta: dict) -> None:
        self.group.attrs.update(json.loads(json.dumps(meta)))

    def write_arrays(self, key: str, arrays: dict) -> None:
        write_arrays(self.group, key, arrays)

    def read_arrays(self, key: str) -> dict:
        node = self.group[key]
        return {name: node[name][...] for name in node.array_keys()}

    def append_rows(self, rows: list) -> None:
        if not rows:
            return
        import pyarrow.parquet as pq

        table = rows_to_arrow(rows)
        self.fs.makedirs(f"{self.root}/table", exist_ok=True)
        # Time first so that part files sort in writing order: the last row of an image wins.
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = f"{self.root}/table/.{name}.tmp"
        with self.fs.open(tmp, "wb") as fh:
            pq.write_table(table, fh)
        # Written aside then moved, so a crash mid-write never leaves half a part file.
        self.fs.mv(tmp, f"{self.root}/table/{name}")

    def _frame(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        parts = sorted(self.fs.glob(f"{self.root}/table/part-*.parquet"))
        if not parts:
            return None
        tables = []
        for part in parts:
            with self.fs.open(part, "rb") as fh:
                tables.append(pq.read_table(fh))
        return pa.concat_tables(tables, promote_options="default").to_pandas()


def write_arrays(group, key: str, arrays: dict) -> None:
    """Write one image's arrays into ``group/<key>/`` (overwriting a half-written earlier try)."""
    node = group.require_group(key)
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        node.create_array(name, data=array, chunks=array.shape or "auto", overwrite=True)


def arrow_schema():
    import pyarrow as pa

    kinds = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "list<int64>": pa.list_(pa.int64()),
    }
    return pa.schema([(name, kinds[kind]) for name, kind in COLUMNS.items()])


def rows_to_arrow(rows: list):
    import pyarrow as pa

    schema = arrow_schema()
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


def open_store(store, storage_options=None, mode="a"):
    """``None`` -> a :class:`MemoryStore`; a path or URL -> a :class:`DiskStore`; a store
    object is returned as is.

    Examples
    --------
    >>> type(open_store(None)).__name__
    'MemoryStore'
    """
    if store is None:
        return MemoryStore()
    if isinstance(store, _Base):
        return store
    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(
            f"store must be a folder path or an fsspec URL (or None to keep the sweep in "
            f"memory); got {type(store).__name__}"
        )
    return DiskStore(store, storage_options, mode)
