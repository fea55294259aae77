"""Rows of done images whose true label changed: the row follows, the maps stay.

A re-run that gives labels the first run did not (or other ones), or a folder whose class
sub-folders were added or renamed (so each class's index moved), changes what an image's row
says about its truth: ``label``, ``correct`` and ``true_probability``. Its maps do not depend on
the label, so the image is not swept again: a new row (its old one with those three columns
recomputed from the stored base probabilities) replaces the old one, as a redone image's does.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["relabel_rows"]


def relabel_rows(store, relabel: dict) -> int:
    """Write the new rows of ``relabel`` (key -> new label); returns how many were written.

    Examples
    --------
    >>> from occlusion_widget.dataset.store import MemoryStore
    >>> store = MemoryStore()
    >>> store.write_arrays("k", {"base_probabilities": np.array([0.2, 0.8], np.float32)})
    >>> store.append_rows([{"id": "0", "key": "k", "status": "done", "label": -1,
    ...                     "predicted": 1, "correct": None}])
    >>> relabel_rows(store, {"k": 1})
    1
    >>> store.table()[["label", "correct", "true_probability"]].values.tolist()
    [[1, True, 0.800000011920929]]
    """
    if not relabel:
        return 0
    table = store.table()
    rows = table[table["key"].isin(list(relabel)) & (table["status"] == "done")]
    maps = store.read_many(list(rows["key"]), errors="return")
    out = []
    for row in rows.to_dict("records"):
        arrays = maps.get(row["key"])
        if not isinstance(arrays, dict):
            continue  # unreadable maps: the image is swept again, with its new label
        base = np.asarray(arrays["base_probabilities"])
        label = int(relabel[row["key"]])
        known = 0 <= label < len(base)
        row = {name: _plain(value) for name, value in row.items()}
        row.update(
            label=label,
            correct=bool(int(row["predicted"]) == label) if known else None,
            true_probability=float(base[label]) if known else float("nan"),
        )
        out.append(row)
    store.append_rows(out)
    return len(out)


def _plain(value):
    """A pandas cell as what a new row holds (NaN of a missing number or flag: None)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
