"""How a sweep computes its positions: every occluded copy in full, incrementally, or adaptively.

``"full"`` runs the model on every occluded copy. ``"incremental"`` (exact) computes, per layer,
only the region the patch can change (:mod:`.incremental`). ``"adaptive"`` (approximate) scores
a coarse grid and refines only where the map changes (:mod:`.adaptive`). ``"auto"`` picks
incremental where the model is supported and its own multiply-add estimate says it pays, full
otherwise; never adaptive unless asked.
"""

from __future__ import annotations

__all__ = ["METHODS", "check_method", "select_forward"]

METHODS = ("auto", "full", "incremental", "adaptive")

#: ``"auto"`` goes incremental only when the plan computes at most this share of the full
#: pass's multiply-adds (the gathers cost time the count leaves out) ...
AUTO_MAX_FRACTION = 0.7
#: ... and the sweep has enough positions to repay tracing a second compiled function.
AUTO_MIN_POSITIONS = 64


def check_method(method) -> str:
    """Validate ``method``.

    Examples
    --------
    >>> check_method("incremental")
    'incremental'
    >>> check_method("fast")
    Traceback (most recent call last):
    ...
    ValueError: method must be one of 'auto', 'full', 'incremental', 'adaptive'; got 'fast'
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    return method


def select_forward(method, model, forward, pixels, grid):
    """The forward pass a sweep uses, and what it says about itself (``result.info``).

    Parameters
    ----------
    method : str
        ``"auto"``, ``"full"`` or ``"incremental"`` (adaptive chooses its own through this).
    model : keras.Model or callable
    forward : Forward
        The model's full compiled forward pass.
    pixels : numpy.ndarray
        ``(H, W, C)`` raw unoccluded image.
    grid : Grid

    Returns
    -------
    forward, info : Forward or IncrementalForward, dict

    Raises
    ------
    ValueError
        ``method="incremental"`` for a model that has no incremental pass (says why).

    Examples
    --------
    >>> from occlusion_widget.engine import make_forward, make_grid
    >>> import numpy as np
    >>> fwd = make_forward(lambda b: b.mean(axis=(1, 2)), batch_shape=(2, 4, 4, 3))
    >>> select_forward("auto", None, fwd, np.zeros((4, 4, 3)), make_grid((4, 4), 2, 2))[1]
    {'method': 'full', 'reason': 'the model is a plain callable, not a Keras model'}
    """
    if method == "full":
        return forward, {"method": "full", "reason": "asked for"}
    from .model import is_keras_model

    if not is_keras_model(model):
        reason = "the model is a plain callable, not a Keras model"
        if method == "incremental":
            raise ValueError(
                f"method='incremental' needs a Keras model; {reason}. Use method='full'"
            )
        return forward, {"method": "full", "reason": reason}
    if method == "auto" and grid.total < AUTO_MIN_POSITIONS:
        return forward, {
            "method": "full",
            "reason": f"{grid.total} positions: too few to repay compiling an incremental pass",
        }
    from .incremental import Unsupported, make_incremental

    try:
        clean = forward.prepare(pixels[None].astype("float32", copy=True))[0]
        incremental = make_incremental(model, forward, clean, grid)
    except Unsupported as exc:
        if method == "incremental":
            raise ValueError(
                f"method='incremental' is not available here: {exc}. Use method='full' "
                f"(or 'auto', which falls back by itself)"
            ) from None
        return forward, {"method": "full", "reason": str(exc)}
    fraction = incremental.plan.flop_fraction
    if method == "auto" and fraction > AUTO_MAX_FRACTION:
        return forward, {
            "method": "full",
            "reason": f"the incremental pass would still compute {fraction:.0%} of the "
            f"multiply-adds (more than {AUTO_MAX_FRACTION:.0%})",
            "flop_fraction": round(fraction, 4),
        }
    return incremental, incremental.info
