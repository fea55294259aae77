"""The gallery's table in memory: numpy columns loaded once, sorted orders kept, new rows
read as they are appended.

At 100,000 images a sort, a filter or a page must not look at pandas or Parquet: the few
columns the gallery sorts and filters by are numpy arrays, each sort order is computed once
(a stable ``argsort``) and kept until rows change, a filter is one boolean mask over the rows,
and a page is a slice of the result. When the store grows (a sweep still writing, a resumed
one), :meth:`GalleryTable.refresh` reads only the table parts written since (see
:func:`new_rows`); anything else (a compaction, an image that got a new row) reloads the
table whole, so the rows always equal ``store.table()``.
"""

from __future__ import annotations

import itertools

import numpy as np

from .query import SORT_KEYS, number

__all__ = ["GalleryTable", "new_rows"]


def _ints(frame, name, n, default=-1):
    if name not in frame:
        return np.full(n, default, np.int64)
    return frame[name].fillna(default).to_numpy(np.int64)


def _floats(frame, name, n):
    if name not in frame:
        return np.full(n, np.nan)
    return frame[name].to_numpy(np.float64, na_value=np.nan)


def _texts(frame, name, n):
    if name not in frame:
        return np.full(n, "", object)
    # Not a Python loop over the cells: pandas keeps text in Arrow, slow to iterate.
    return frame[name].astype(object).where(frame[name].notna(), "").astype(str).to_numpy(object)


def columns(frame) -> dict:
    """The gallery's columns of a table frame (``store.table()`` or new Parquet rows).

    Examples
    --------
    >>> import pandas as pd
    >>> c = columns(pd.DataFrame({"id": ["a", "b"], "status": ["done", "error"],
    ...                           "correct": [False, None], "winner_classes": [[1, 0], None]}))
    >>> c["done"].tolist(), c["correct"].tolist(), c["offsets"].tolist(), c["winners"].tolist()
    ([True, False], [0, -1], [0, 2, 2], [1, 0])
    """
    n = len(frame)
    correct = frame["correct"].to_numpy(object) if "correct" in frame else np.full(n, None)
    cells = frame["winner_classes"] if "winner_classes" in frame else [None] * n
    cells = [() if c is None else c for c in cells]  # lists, or arrays from Parquet
    lengths = np.fromiter(map(len, cells), np.int64, n)
    winners = np.fromiter(itertools.chain.from_iterable(cells), np.int64, int(lengths.sum()))
    return {
        "id": frame["id"].astype(str).to_numpy(object),
        "key": _texts(frame, "key", n),
        "done": (frame["status"] == "done").to_numpy(bool),
        "label": _ints(frame, "label", n),
        "predicted": _ints(frame, "predicted", n),
        # 1 right, 0 wrong, -1 unknown (no true class): only 0 counts as misclassified
        "correct": np.where(correct == True, 1, np.where(correct == False, 0, -1)),  # noqa: E712
        "flip_fraction": _floats(frame, "flip_fraction", n),
        "flip_class": _ints(frame, "flip_class", n),
        "max_drop": _floats(frame, "max_drop", n),
        "predicted_probability": _floats(frame, "predicted_probability", n),
        "checksum": _texts(frame, "checksum", n),
        "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "winners": winners,
    }


def _concat(a: dict, b: dict) -> dict:
    out = {name: np.concatenate([a[name], b[name]]) for name in a if name != "offsets"}
    out["offsets"] = np.concatenate([a["offsets"], b["offsets"][1:] + a["offsets"][-1]])
    return out


def new_rows(store, known, version):
    """The rows ``store`` holds at ``version`` that it did not hold at ``known``, as a pandas
    frame (in writing order), or None when they cannot be told apart from the rest (then the
    table is read whole).

    A folder store's version lists its table parts: parts are only ever added, except by a
    compaction, which removes some (then None). Any other store: None.
    """
    fs = getattr(store, "fs", None)
    if fs is None or not isinstance(known, tuple) or not isinstance(version, tuple):
        return None
    if not set(known) <= set(version):
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    for part in (p for p in version if p not in set(known)):
        try:
            with fs.open(part, "rb") as fh:
                tables.append(pq.read_table(fh))
        except FileNotFoundError:  # compacted away meanwhile
            return None
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="default").to_pandas()


class GalleryTable:
    """A dataset's table as the gallery needs it: columns, sort orders, filters, rows.

    Parameters
    ----------
    table : pandas.DataFrame
        The dataset's table (``OcclusionDataset.table``), one row per image.
    store : optional
        Where that table came from; with it :meth:`refresh` follows rows appended later.
    version : optional
        ``store.table_version()`` when ``table`` was read (None: unknown, the first refresh
        reads the table whole).

    Examples
    --------
    >>> import pandas as pd
    >>> t = GalleryTable(pd.DataFrame({"id": ["a", "b", "c"], "status": ["done"] * 3,
    ...                                "flip_fraction": [.1, .5, .3], "label": [0, 1, 1],
    ...                                "predicted": [0, 0, 1]}))
    >>> t.query("flip_fraction", True, {}).tolist()
    [1, 2, 0]
    >>> t.query("order", False, {"predicted": 0}).tolist()
    [0, 1]
    """

    def __init__(self, table, store=None, version=None):
        self.store = store
        self.version = version
        self._load(table)

    def _load(self, frame) -> None:
        self.columns = columns(frame)
        self._changed()

    def _changed(self) -> None:
        c = self.columns
        self.done_rows = np.flatnonzero(c["done"])
        self._orders: dict = {}
        self._owner = None  # which row each winner belongs to, made on first flips_to filter
        self._positions = None  # id -> row, made on first lookup

    def __len__(self) -> int:
        return len(self.columns["id"])

    @property
    def total(self) -> int:
        """Images swept without error (the ones the gallery shows)."""
        return len(self.done_rows)

    # -- following the store -------------------------------------------------------------------

    def fetch(self):
        """Read what changed in the store since the table was read, without changing the
        table (safe in another thread): None when nothing did, else a change for
        :meth:`apply`."""
        if self.store is None or not hasattr(self.store, "table_version"):
            return None
        base = self.version
        version = self.store.table_version()
        if version == base and base is not None:
            return None
        if isinstance(base, tuple) and base and version == ():
            # Parts are only added or compacted into a new one: none left means the store's
            # table was deleted or moved, not that it holds no image.
            where = getattr(self.store, "location", "its folder")
            raise FileNotFoundError(
                f"the store at {where} has no table any more (deleted or moved after it was "
                f"read); the gallery keeps showing the {len(self)} rows it read. Put the store "
                f"back, or open another with ow.open_dataset(...)"
            )
        frame = new_rows(self.store, base, version)
        if frame is not None:
            frame = frame.drop_duplicates("key", keep="last")
            known = set(self.columns["key"].tolist())
            if not any(key in known for key in frame["key"]):
                return base, version, columns(frame), None
            # An image got a new row: its place in the table changes. Read it whole.
        return base, version, None, self.store.table()

    def apply(self, change) -> bool:
        """Take in a change from :meth:`fetch`; True when the rows changed. A change fetched
        before the table last changed is dropped (the next fetch sees it again)."""
        if change is None:
            return False
        base, version, added, whole = change
        if base != self.version:
            return False
        if whole is not None:
            self._load(whole)
        else:
            self.columns = _concat(self.columns, added)
            self._changed()
        self.version = version
        return True

    def refresh(self) -> bool:
        """Take in the rows appended to the store since the table was read; True when the
        rows changed. Only the new table parts are read when that is enough (see the module).
        """
        return self.apply(self.fetch())

    def warm(self) -> None:
        """Compute every sort order and the ids' rows now (e.g. in a thread while nobody is
        looking), so that the first sort by each key or look-up costs no more than the next."""
        for sort_by in SORT_KEYS:
            for descending in (True, False):
                self.order(sort_by, descending)
        try:
            self.position("")  # and the ids' rows
        except KeyError:
            pass

    # -- sort, filter, look up -----------------------------------------------------------------

    def order(self, sort_by: str, descending: bool) -> np.ndarray:
        """Rows swept without error, sorted (ties in table order); kept until rows change."""
        # Read in this order (apply sets the columns, then the rows, then the orders): an
        # order computed while a refresh lands goes into the dropped dict.
        orders, rows, cols = self._orders, self.done_rows, self.columns
        found = orders.get((sort_by, descending))
        if found is not None:
            return found
        column = SORT_KEYS[sort_by]
        if column is None:
            found = rows[::-1].copy() if descending else rows
        else:
            values = cols[column][rows]
            values = np.where(np.isnan(values), -np.inf, values)  # NaN last when descending
            # Stable sort of the negated values keeps ties in table order when descending too.
            found = rows[np.argsort(-values if descending else values, kind="stable")]
        orders[(sort_by, descending)] = found
        return found

    def mask(self, filters: dict) -> np.ndarray | None:
        """Which rows pass ``filters`` (checked by ``check_filters``); None when all do."""
        c = self.columns
        keep = None

        def both(a, b):
            return b if a is None else a & b

        if filters.get("true") is not None:
            keep = both(keep, c["label"] == filters["true"])
        if filters.get("predicted") is not None:
            keep = both(keep, c["predicted"] == filters["predicted"])
        if filters.get("misclassified"):
            keep = both(keep, c["correct"] == 0)  # unknown true class: not a mistake
        if filters.get("flips_to") is not None:
            x = filters["flips_to"]
            if self._owner is None:
                self._owner = np.repeat(np.arange(len(self)), np.diff(c["offsets"]))
            wins = np.zeros(len(self), bool)
            wins[self._owner[c["winners"] == x]] = True
            # The class wins somewhere and is not the unoccluded prediction.
            keep = both(keep, wins & (c["predicted"] != x))
        return keep

    def query(self, sort_by: str, descending: bool, filters: dict) -> np.ndarray:
        """Row positions passing ``filters``, in ``sort_by`` order (as ``query.query`` gives
        them for the same table)."""
        order = self.order(sort_by, descending)
        keep = self.mask(filters)
        return order if keep is None else order[keep[order]]

    def position(self, image_id: str) -> int:
        """The row of an image id; KeyError when no row or several rows have it."""
        positions = self._positions
        if positions is None:
            ids = self.columns["id"].tolist()
            positions = dict(zip(ids, range(len(ids)), strict=True))
            if len(positions) < len(ids):  # an id of several rows names none of them
                repeated = np.unique(self.columns["id"], return_counts=True)
                for name in repeated[0][repeated[1] > 1].tolist():
                    positions[name] = -1
            self._positions = positions
        row = positions.get(str(image_id))
        if row is None:
            raise KeyError(f"no image with id {image_id!r} in the table")
        if row < 0:
            raise KeyError(
                f"the id {image_id!r} names several images in the table (positions of a "
                f"stream whose order changed between runs); give a row number instead"
            )
        return row

    def item(self, row: int) -> dict:
        """What the browser shows for one row (the keys of ``query.item``)."""
        c = self.columns
        label, flip_class = int(c["label"][row]), int(c["flip_class"][row])
        return {
            "id": c["id"][row],
            "true": label if label >= 0 else None,
            "predicted": int(c["predicted"][row]),
            "misclassified": bool(c["correct"][row] == 0),
            "flip_fraction": number(c["flip_fraction"][row]),
            "flip_class": flip_class if flip_class >= 0 else None,
            "max_drop": number(c["max_drop"][row]),
            "confidence": number(c["predicted_probability"][row]),
        }

    def row(self, row: int) -> dict:
        """What reading the image's maps needs: ``id``, ``key``, ``status``, ``checksum``."""
        c = self.columns
        status = "done" if c["done"][row] else "error"
        return {
            "id": c["id"][row],
            "key": c["key"][row],
            "status": status,
            "checksum": c["checksum"][row],
            "error": "",
        }
