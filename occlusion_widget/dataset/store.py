"""Where a dataset sweep is kept: a Zarr group of per-image maps, a Parquet table of rows.

Layout of a store folder (a local path or any fsspec URL)::

    <store>/maps.zarr/            Zarr group; attrs: format_version, params, num_classes, kept
        <key>/probabilities       (rows, cols, k) float16: all classes, or the top-k per position
        <key>/classes             (rows, cols, k) int32: which classes those are (top-k only)
        <key>/base_probabilities  (K,) float32: the unoccluded image, all classes
        <key>/image               (H, W, C) the raw image as swept (uint8 or float32)
    <store>/table/part-*.parquet  one row per image (``summary.COLUMNS``; :mod:`.parts`)
    <store>/claims/               who sweeps which image; the settled parameters (:mod:`.claims`)
    <store>/writers/              heartbeats of the writers running now

An image's arrays are written before its row, and rows are the source of truth: a crash
mid-image leaves arrays without a row, which the next run overwrites. Each row carries a
checksum of its maps (verified on every read) and a digest of the image (:mod:`.integrity`).
"""

from __future__ import annotations

import json
import os

import numpy as np

from .integrity import StoreCorruptError
from .params_check import ParamsCheck
from .parts import append, arrow_schema, compact, read, rows_to_arrow
from .summary import COLUMNS

__all__ = ["DiskStore", "MemoryStore", "arrow_schema", "open_store", "quantize", "rows_to_arrow"]

_MISSING = (
    "a dataset store on disk needs zarr, pyarrow, pandas and fsspec: "
    "pip install 'occlusion_widget[dataset]' (or pass store=None to keep the sweep in memory)"
)
_ROOT_META = {"zarr_format": 3, "node_type": "group", "attributes": {}}


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


class _Base(ParamsCheck):
    """What both stores share: the parameter check and the table as pandas."""

    location = "memory"

    def table(self, repair: bool = False):
        """All rows as a pandas DataFrame, one per image (the last row of an image wins)."""
        import pandas as pd

        frame = self._frame(repair)
        if frame is None or frame.empty:
            return pd.DataFrame(
                {name: pd.Series(dtype=_pandas_dtype(t)) for name, t in COLUMNS.items()}
            )
        frame = frame.drop_duplicates("key", keep="last").reset_index(drop=True)
        for name, kind in COLUMNS.items():
            if name not in frame:  # a store written before the column existed
                frame[name] = "" if name in ("digest", "checksum") else None
            elif name in ("digest", "checksum"):  # missing: not recorded, nothing to check
                frame[name] = [x if isinstance(x, str) else "" for x in frame[name]]
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

    def where(self, key: str) -> str:
        """Where an image's maps are, for messages."""
        return f"{self.location} (maps of key {key})"

    def compact(self) -> None:
        """Keep one row per image in the table files (see :func:`.parts.compact`)."""

    def compact_if_needed(self) -> None:
        """Compact when some image has several rows (a retry or a redo superseded one)."""
        frame = self._frame()
        if frame is not None and frame["key"].duplicated().any():
            self.compact()


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


class DiskStore(_Base):
    """A store folder on a local path or an fsspec URL (see the module docstring).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     store = DiskStore(f"{folder}/sweep")
    ...     len(store.table()), store.done_keys()  # nothing swept into it yet
    (0, set())
    """

    def __init__(self, url, storage_options=None, mode="a"):
        zarr, _, _, fsspec = _require()
        self.url = os.fspath(url).rstrip("/")
        self.location = repr(self.url)
        self.storage_options = dict(storage_options or {})
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **self.storage_options)
        self.local = "file" in _protocols(self.fs)
        self.maps = f"{self.url}/maps.zarr"
        if mode == "r" and not self.fs.exists(f"{self.root}/maps.zarr"):
            raise FileNotFoundError(
                f"no dataset store at {self.url!r} (expected {self.url}/maps.zarr and "
                f"{self.url}/table/); write one with ow.sweep_dataset(..., store=...)"
            )
        self._zarr = zarr
        self.group = self._open_group(mode)

    def _open_group(self, mode):
        from zarr.errors import ContainsGroupError

        meta = f"{self.root}/maps.zarr/zarr.json"
        where = self.root if self.local else self.url  # zarr takes a file:// URL as a path
        options = None if self.local else (self.storage_options or None)
        if mode != "r" and self.fs.exists(meta):
            try:
                json.loads(self.fs.cat_file(meta))
            except ValueError:  # cut short by a crash: the parameters live on in claims/
                self.fs.pipe_file(meta, json.dumps(_ROOT_META).encode())
            mode = "r+"
        for _ in range(5):
            try:
                return self._zarr.open_group(
                    f"{where}/maps.zarr", mode=mode, storage_options=options
                )
            except (ContainsGroupError, FileExistsError):
                mode = "r+"  # another writer created it first: open theirs
            except (ValueError, KeyError, TypeError) as exc:  # bad JSON, missing fields
                raise StoreCorruptError(
                    f"the store's metadata {self.maps}/zarr.json is unreadable "
                    f"({type(exc).__name__}: {_first_line(exc)}). Re-run sweep_dataset with "
                    f"this store to repair it"
                ) from exc
        raise StoreCorruptError(f"could not open {self.maps}")

    def meta(self) -> dict:
        return dict(self.group.attrs)

    def write_meta(self, meta: dict) -> None:
        self.group.attrs.update(json.loads(json.dumps(meta)))

    def settle(self, name: str, content: dict) -> tuple[dict, bool]:
        from .claims import settle

        return settle(self.fs, f"{self.root}/claims/_{name}.json", content)

    def read_settled(self, name: str) -> dict | None:
        try:
            found = json.loads(self.fs.cat_file(f"{self.root}/claims/_{name}.json"))
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def where(self, key: str) -> str:
        return f"{self.maps}/{key}"

    def write_arrays(self, key: str, arrays: dict) -> None:
        write_arrays(self.group, key, arrays)

    def has_arrays(self, key: str) -> bool:
        return self.fs.exists(f"{self.root}/maps.zarr/{key}/zarr.json")

    def read_arrays(self, key: str) -> dict:
        where = self.where(key)
        try:
            node = self.group[key]
        except KeyError as exc:
            raise StoreCorruptError(
                f"the maps {where} are missing (deleted?). Re-run sweep_dataset with this "
                f"store to redo the image"
            ) from exc
        except Exception as exc:
            raise StoreCorruptError(
                f"the metadata of {where} is unreadable ({type(exc).__name__}). Re-run "
                f"sweep_dataset with this store to redo the image"
            ) from exc
        out = {}
        try:
            for name in node.array_keys():
                out[name] = node[name][...]
        except Exception as exc:
            raise StoreCorruptError(
                f"the maps {where} are unreadable ({type(exc).__name__}: {_first_line(exc)}). "
                f"Re-run sweep_dataset with this store to redo the image"
            ) from exc
        return out

    def append_rows(self, rows: list) -> None:
        append(self.fs, f"{self.root}/table", rows)

    def table_version(self) -> object:
        """Changes whenever a part is added or compacted (cheaper than reading them)."""
        return tuple(self.fs.glob(f"{self.root}/table/part-*.parquet"))

    def _frame(self, repair=False):
        return read(self.fs, f"{self.root}/table", f"{self.url}/table", repair)

    def compact(self) -> None:
        compact(self.fs, f"{self.root}/table")


def _first_line(exc) -> str:
    text = str(exc)
    return text.splitlines()[0][:200] if text else ""


def _protocols(fs) -> tuple:
    protocol = fs.protocol
    return tuple(protocol) if isinstance(protocol, (tuple, list)) else (protocol,)


def write_arrays(group, key: str, arrays: dict) -> None:
    """Write one image's arrays into ``group/<key>/``, replacing whatever an earlier try
    left there (the writer holds the image's claim, so nobody else writes it)."""
    node = group.create_group(key, overwrite=True)
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        node.create_array(name, data=array, chunks=array.shape or "auto", overwrite=True)


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
    if isinstance(store, _Base):
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
    return DiskStore(store, storage_options, mode)
