"""Sort, filter and page a dataset sweep's table: what the gallery shows, decided in pandas.

The gallery sends only one page to the browser, so everything that looks at all the images
(sorting 10,000 rows, filtering by class) happens here, over :attr:`OcclusionDataset.table`.
Only images swept without error are shown: a skipped image has no map.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["FILTERS", "SORT_KEYS", "check_filters", "item", "page_bounds", "query"]

#: What the gallery sorts by -> the table column.
SORT_KEYS = {
    "flip_fraction": "flip_fraction",  # share of positions whose prediction flips
    "max_drop": "max_drop",  # largest fall of the predicted class's probability
    "confidence": "predicted_probability",  # unoccluded probability of the predicted class
    "order": None,  # the order the images were swept
}

#: The filters and what each allows.
FILTERS = {
    "true": "a true class index, or None for any",
    "predicted": "a predicted class index, or None for any",
    "misclassified": "True for the images predicted wrong (true class known), False for all",
    "flips_to": "a class index: images where that class wins at some occluded position "
    "(the prediction flips to it), or None for any",
}


def _class_or_none(name: str, value, num_classes: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"filter {name!r} must be a class index (int) or None; got {value!r}")
    if not 0 <= int(value) < num_classes:
        raise ValueError(
            f"filter {name!r} is class {value}, but the model has {num_classes} classes "
            f"(0 to {num_classes - 1}); use None to show every class"
        )
    return int(value)


def check_filters(filters: dict | None, num_classes: int) -> dict:
    """Validate a filters dict and fill in the missing keys with "any".

    Examples
    --------
    >>> check_filters({"true": 2}, 3)
    {'true': 2, 'predicted': None, 'misclassified': False, 'flips_to': None}
    >>> check_filters({"flips": 1}, 3)
    Traceback (most recent call last):
    ...
    ValueError: unknown filter 'flips'; allowed: true, predicted, misclassified, flips_to
    """
    filters = dict(filters or {})
    unknown = [key for key in filters if key not in FILTERS]
    if unknown:
        raise ValueError(
            f"unknown filter {', '.join(map(repr, unknown))}; allowed: {', '.join(FILTERS)}"
        )
    misclassified = filters.get("misclassified", False)
    if not isinstance(misclassified, (bool, np.bool_)):
        raise TypeError(f"filter 'misclassified' must be True or False; got {misclassified!r}")
    return {
        "true": _class_or_none("true", filters.get("true"), num_classes),
        "predicted": _class_or_none("predicted", filters.get("predicted"), num_classes),
        "misclassified": bool(misclassified),
        "flips_to": _class_or_none("flips_to", filters.get("flips_to"), num_classes),
    }


def query(table, sort_by: str = "flip_fraction", descending: bool = True, filters=None):
    """Row positions of ``table`` that pass ``filters``, in the order ``sort_by`` gives.

    Ties keep the table's order, so the same query always gives the same pages. Rows whose
    sweep failed (``status != "done"``) never match.

    Parameters
    ----------
    table : pandas.DataFrame
        :attr:`OcclusionDataset.table` (or any frame with its columns).
    sort_by : {"flip_fraction", "max_drop", "confidence", "order"}
    descending : bool, default True
    filters : dict, optional
        Already checked by :func:`check_filters` (keys ``true``, ``predicted``,
        ``misclassified``, ``flips_to``).

    Returns
    -------
    numpy.ndarray
        int64 row positions (``table.iloc`` indices).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"status": ["done"] * 3, "flip_fraction": [.1, .5, .3],
    ...                   "label": [0, 1, 1], "predicted": [0, 0, 1],
    ...                   "correct": [True, False, True],
    ...                   "winner_classes": [[0], [0, 2], [1, 0]]})
    >>> query(t).tolist()
    [1, 2, 0]
    >>> query(t, filters={"flips_to": 0}).tolist()  # row 0 and 1 predict 0 already
    [2]
    """
    if sort_by not in SORT_KEYS:
        raise ValueError(
            f"sort_by must be one of {', '.join(map(repr, SORT_KEYS))}; got {sort_by!r}"
        )
    f = filters or {}
    keep = (table["status"] == "done").to_numpy(bool).copy()  # pandas may hand a read-only view
    if f.get("true") is not None:
        keep &= (table["label"] == f["true"]).to_numpy(bool)
    if f.get("predicted") is not None:
        keep &= (table["predicted"] == f["predicted"]).to_numpy(bool)
    if f.get("misclassified"):
        # An unknown true class (label -1, correct None) is not a mistake we can show.
        keep &= (table["correct"] == False).to_numpy(bool)  # noqa: E712 (None stays out)
    if f.get("flips_to") is not None:
        x = f["flips_to"]
        # The class wins somewhere and is not the unoccluded prediction: the prediction flips
        # to it at one position at least.
        wins = np.fromiter((x in classes for classes in table["winner_classes"]), bool, len(table))
        keep &= wins & (table["predicted"] != x).to_numpy(bool)
    rows = np.flatnonzero(keep)
    column = SORT_KEYS[sort_by]
    if column is None:
        return rows[::-1].copy() if descending else rows
    values = table[column].to_numpy(np.float64)[rows]
    values = np.where(np.isnan(values), -np.inf, values)  # NaN last when descending
    # Stable sort of the negated values keeps ties in table order when descending too.
    order = np.argsort(-values if descending else values, kind="stable")
    return rows[order]


def page_bounds(total: int, page: int, page_size: int) -> tuple[int, int, int]:
    """``(page, start, stop)`` with ``page`` clamped to the pages that exist (at least one).

    Examples
    --------
    >>> page_bounds(10, 7, 4)  # pages 0, 1, 2: the last holds rows 8 and 9
    (2, 8, 10)
    >>> page_bounds(0, 3, 4)
    (0, 0, 0)
    """
    pages = max(1, math.ceil(total / page_size))
    page = min(max(0, int(page)), pages - 1)
    start = page * page_size
    return page, start, min(total, start + page_size)


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def item(row) -> dict:
    """What the browser shows for one image: a plain-JSON dict from a table row.

    Examples
    --------
    >>> import pandas as pd
    >>> row = pd.Series({"id": "a.png", "label": 1, "predicted": 0, "correct": False,
    ...                  "flip_fraction": .25, "max_drop": .5, "predicted_probability": .9,
    ...                  "flip_class": 1})
    >>> item(row)["misclassified"], item(row)["true"]
    (True, 1)
    """
    label = int(row["label"])
    return {
        "id": str(row["id"]),
        "true": label if label >= 0 else None,
        "predicted": int(row["predicted"]),
        "misclassified": bool(row["correct"] == False),  # noqa: E712 (None: unknown, not wrong)
        "flip_fraction": _number(row["flip_fraction"]),
        "flip_class": int(row["flip_class"]) if int(row["flip_class"]) >= 0 else None,
        "max_drop": _number(row["max_drop"]),
        "confidence": _number(row["predicted_probability"]),
    }
