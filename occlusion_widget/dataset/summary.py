"""One table row per image: what a person scanning a dataset for surprises wants to sort by.

Every number comes from the float32 result of the sweep (before the store rounds the maps to
float16), so the table is exact whatever the store keeps.
"""

from __future__ import annotations

import numpy as np

__all__ = ["COLUMNS", "error_row", "summarize"]

#: The table's columns and their Arrow types (int columns use -1 for "none").
COLUMNS = {
    "id": "string",  # the path relative to the folder, or the position in the list
    "key": "string",  # the id hashed: the image's group in the Zarr store
    "path": "string",  # the image file ("" for in-memory images)
    "label": "int64",  # true class, -1 when unknown
    "status": "string",  # "done" or "error"
    "error": "string",  # why the image was skipped ("" when done)
    "predicted": "int64",  # the unoccluded image's predicted class
    "predicted_probability": "float64",
    "true_probability": "float64",  # the unoccluded probability of the true class (NaN: no label)
    "correct": "bool",
    "positions": "int64",  # occluder positions in the grid
    "flip_fraction": "float64",  # fraction of positions whose predicted class differs
    "flip_class": "int64",  # the class that wins most often where the prediction flips (-1: none)
    "flip_class_fraction": "float64",  # its share of the flipped positions
    "max_drop": "float64",  # largest drop of the predicted class's probability
    "max_drop_row": "int64",  # its grid cell...
    "max_drop_col": "int64",
    "max_drop_top": "int64",  # ...and the patch's top-left pixel
    "max_drop_left": "int64",
    "base_margin": "float64",  # unoccluded: predicted probability - the runner-up's
    "margin_min": "float64",  # over positions: p(predicted class) - best other class (< 0 = flip)
    "margin_mean": "float64",
    "base_entropy": "float64",  # unoccluded entropy of the probabilities (nats)
    "entropy_mean": "float64",  # over positions
    "entropy_max": "float64",
    "winner_classes": "list<int64>",  # every class that wins somewhere, most positions first...
    "winner_counts": "list<int64>",  # ...and at how many positions
    "seconds": "float64",  # time to sweep this image (not compared between backends)
    "digest": "string",  # the image's content (pixels or file bytes): its identity with the id
    "checksum": "string",  # of its stored maps, verified when they are read back
}


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p.astype(np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)


def summarize(result, label: int = -1) -> dict:
    """The metric columns of :data:`COLUMNS` for one complete :class:`OcclusionResult`.

    Parameters
    ----------
    result : OcclusionResult
        A complete sweep of one image.
    label : int, default -1
        The true class, -1 when unknown.

    Returns
    -------
    dict

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> def model(batch):  # class 1 = brightness of the top-left 4x4 corner
    ...     p = batch[:, :4, :4].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> r = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                      baseline="black", progress=False)
    >>> row = summarize(r, label=1)
    >>> row["predicted"], row["flip_fraction"], row["flip_class"], row["max_drop"]
    (1, 0.25, 0, 1.0)
    """
    base = result.base_probabilities.astype(np.float64)
    probs = result.probabilities.astype(np.float64)
    k = result.num_classes
    pred = int(np.argmax(base))
    classes = result.predicted_classes()
    flips = classes != pred
    n = int(classes.size)
    flipped = classes[flips]
    if flipped.size:
        values, counts = np.unique(flipped, return_counts=True)
        best = int(np.lexsort((values, -counts))[0])
        flip_class, flip_class_fraction = int(values[best]), counts[best] / flipped.size
    else:
        flip_class, flip_class_fraction = -1, 0.0
    drop = base[pred] - probs[:, :, pred]
    r, c = np.unravel_index(int(np.argmax(drop)), drop.shape)
    others = np.delete(probs, pred, axis=2) if k > 1 else np.zeros((*probs.shape[:2], 1))
    margins = probs[:, :, pred] - others.max(axis=2)
    runner_up = np.sort(base)[-2] if k > 1 else 0.0
    entropy = _entropy(probs)
    counts = result.class_counts()
    has_label = 0 <= label < k
    return {
        "predicted": pred,
        "predicted_probability": float(base[pred]),
        "true_probability": float(base[label]) if has_label else float("nan"),
        "correct": bool(pred == label) if has_label else None,
        "positions": n,
        "flip_fraction": float(np.count_nonzero(flips) / n),
        "flip_class": flip_class,
        "flip_class_fraction": float(flip_class_fraction),
        "max_drop": float(drop[r, c]),
        "max_drop_row": int(r),
        "max_drop_col": int(c),
        "max_drop_top": int(result.tops[r]),
        "max_drop_left": int(result.lefts[c]),
        "base_margin": float(base[pred] - runner_up),
        "margin_min": float(margins.min()),
        "margin_mean": float(margins.mean()),
        "base_entropy": float(_entropy(base)),
        "entropy_mean": float(entropy.mean()),
        "entropy_max": float(entropy.max()),
        "winner_classes": [int(x) for x in counts],
        "winner_counts": [int(x) for x in counts.values()],
    }


def error_row(message: str) -> dict:
    """The metric columns for an image that could not be swept: -1 and NaN everywhere.

    Examples
    --------
    >>> row = error_row("not an image")
    >>> row["status"], row["predicted"], row["winner_classes"]
    ('error', -1, [])
    """
    row = {}
    for name, kind in COLUMNS.items():
        if kind == "int64":
            row[name] = -1
        elif kind == "float64":
            row[name] = float("nan")
        elif kind.startswith("list"):
            row[name] = []
        elif kind == "bool":
            row[name] = None
    row.update(status="error", error=message)
    return row
