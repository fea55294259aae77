"""What every dataset store shares: the parameter check, the table as pandas, batch reads."""

from __future__ import annotations

from .integrity import StoreCorruptError
from .params_check import ParamsCheck
from .summary import COLUMNS

__all__ = ["BaseStore"]


class BaseStore(ParamsCheck):
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

    def where(self, key: str, missing: bool = False) -> str:
        """Where an image's maps are, for messages (``missing``: name the files that are gone,
        where a store can tell)."""
        return f"{self.location} (maps of key {key})"

    def compact(self) -> None:
        """Keep one row per image in the table files (see :func:`.parts.compact`)."""

    def compact_if_needed(self) -> None:
        """Compact when some image has several rows (a retry or a redo superseded one)."""
        frame = self._frame()
        if frame is not None and frame["key"].duplicated().any():
            self.compact()

    def read_many(self, keys, errors: str = "raise") -> dict:
        """Many images' arrays at once: ``{key: arrays}`` (see :meth:`DiskStore.read_many`).

        Examples
        --------
        >>> from occlusion_widget.dataset.store import MemoryStore
        >>> s = MemoryStore()
        >>> s.write_arrays("k", {"image": np.zeros((2, 2), np.uint8)})
        >>> s.read_many(["k"])["k"]["image"].shape
        (2, 2)
        """
        out = {}
        for key in keys:
            try:
                out[key] = self.read_arrays(key)
            except StoreCorruptError as exc:
                if errors == "raise":
                    raise
                out[key] = exc
        return out

    def finish(self) -> None:
        """Make everything written so far final (a disk store folds its staged images)."""


def _pandas_dtype(kind):
    return {"string": object, "int64": "int64", "float64": "float64", "bool": object}.get(
        kind, object
    )
