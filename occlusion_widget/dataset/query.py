"""What the gallery can ask of a dataset sweep's table: the sort keys, the filters (checked
here, with advice), and the pages.

The gallery sends only one page to the browser, so everything that looks at all the images
(sorting 100,000 rows, filtering by class) happens in the kernel, on the table held in memory
(:mod:`.gallery_table`). Only images swept without error are shown: a skipped image has no map.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["FILTERS", "SORT_KEYS", "check_filters", "number", "page_bounds"]

#: What the gallery sorts by -> the table column.
SORT_KEYS = {
    "flip_fraction": "flip_fraction",  # share of positions whose prediction flips
    "max_drop": "max_drop",  # largest fall of the predicted class's probability
    "confidence": "predicted_probability",  # unoccluded probability of the predicted class
    "order": None,  # the order the images were swept
}

#: The filters and what each allows.
FILTERS = {
    "true": "a true class (index or name), or None for any",
    "predicted": "a predicted class (index or name), or None for any",
    "misclassified": "True for the images predicted wrong (true class known), False for all",
    "flips_to": "a class (index or name): images where that class wins at some occluded position "
    "(the prediction flips to it), or None for any",
}


def _class_or_none(name: str, value, num_classes: int, names=()) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and names:
        if value in names:
            return list(names).index(value)
        import difflib

        close = difflib.get_close_matches(value, list(names), n=3)
        advice = f"did you mean {', '.join(map(repr, close))}?" if close else "use None for any"
        raise ValueError(f"filter {name!r} is {value!r}, which is no class name; {advice}")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "a class name, " if names else ""
        raise TypeError(f"filter {name!r} must be {kind}a class index (int) or None; got {value!r}")
    if num_classes == 0:
        raise ValueError(
            f"filter {name!r} is class {value}, but no image of this dataset swept without "
            f"error, so there is no class to filter by; use None (the errors are in "
            f"dataset.errors)"
        )
    if not 0 <= int(value) < num_classes:
        raise ValueError(
            f"filter {name!r} is class {value}, but the model has {num_classes} classes "
            f"(0 to {num_classes - 1}); use None to show every class"
        )
    return int(value)


def check_filters(filters: dict | None, num_classes: int, names=()) -> dict:
    """Validate a filters dict and fill in the missing keys with "any"; a class may be given
    by its name in ``names`` (it becomes its index).

    Examples
    --------
    >>> check_filters({"true": 2}, 3)
    {'true': 2, 'predicted': None, 'misclassified': False, 'flips_to': None}
    >>> check_filters({"predicted": "dog"}, 3, ["cat", "dog", "car"])["predicted"]
    1
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
        "true": _class_or_none("true", filters.get("true"), num_classes, names),
        "predicted": _class_or_none("predicted", filters.get("predicted"), num_classes, names),
        "misclassified": bool(misclassified),
        "flips_to": _class_or_none("flips_to", filters.get("flips_to"), num_classes, names),
    }


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


def number(value) -> float | None:
    """A float for JSON: NaN and infinities become None.

    Examples
    --------
    >>> number(0.5), number(float("nan"))
    (0.5, None)
    """
    value = float(value)
    return value if math.isfinite(value) else None
