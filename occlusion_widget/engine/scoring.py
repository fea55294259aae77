"""Score one prepared batch: turn the model's failures into clear errors, reject bad scores.

Shared by the sweep and the fidelity curves, so both say the same thing when the model raises,
runs out of memory (the caller halves the batch), returns the wrong number of rows or returns
NaN or infinite scores.
"""

from __future__ import annotations

import numpy as np

from .batches import failure
from .model import InputError


def _score(forward, x, what, n, value_range=None):
    """Run the model on a prepared batch of which the first ``n`` rows are real images."""
    try:
        scores = forward.run(x)
    except InputError:
        raise  # already says what to do
    except Exception as exc:
        raise failure(exc, "the model", what, x.shape) from exc
    if scores.shape[0] != x.shape[0]:
        raise ValueError(
            f"the model returned {scores.shape[0]} score rows for a batch of {x.shape[0]} "
            f"images; it must return one row per image"
        )
    check_finite(scores[:n], x[:n], what, value_range)
    return scores


def check_finite(scores, x, what, value_range=None):
    """Raise when ``scores`` (the rows the model returned for the prepared images ``x``)
    hold NaN or infinite values; the message names ``what`` was scored and the input's range.

    The multi-image sweep checks each image's rows on their own, so a NaN stays one image's
    error.
    """
    bad = ~np.isfinite(scores)
    if bad.any():
        label = "NaN" if np.isnan(scores).any() else "infinite values"
        raise ValueError(
            f"the model returned {label} while scoring {what}; occlusion needs finite class "
            f"scores. Check the preprocessing and the image's value range: "
            + (
                f"the image was read as spanning {_range_text(value_range)} and "
                if value_range is not None
                else ""
            )
            + f"the model's input ranged from {_range_text(_finite_range(x))}"
        )


def _finite_range(x):
    finite = x[np.isfinite(x)]
    return (float(finite.min()), float(finite.max())) if finite.size else (np.nan, np.nan)


def _range_text(value_range):
    lo, hi = value_range
    return f"[{lo:.4g}, {hi:.4g}]"
