"""How a sweep computes its positions: every occluded copy in full, incrementally, or
approximately.

``"full"`` runs the model on every occluded copy. ``"incremental"`` (exact) computes, per layer,
only the region the patch can change (:mod:`.incremental`). ``"approximate"`` caps those regions
and/or drills down from a coarse grid, and measures its error on a sample (:mod:`.approximate`).
``"adaptive"`` (deprecated: :data:`DEPRECATED`) scores a coarse grid and refines only where the
map changes (:mod:`.adaptive`). ``"auto"`` starts in full and switches to incremental where the
model is supported and the plan's multiply-add share and the sweep's own timing say it pays
(:mod:`.auto`); never approximate unless asked.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEPRECATED",
    "METHODS",
    "approximation_note",
    "check_method",
    "full_pass_info",
    "select_forward",
]

METHODS = ("auto", "full", "incremental", "approximate", "adaptive")

_PACKAGE = __name__.split(".")[0]

#: Methods that still run for one release, and what replaces them.
DEPRECATED = {
    "adaptive": (
        "method='adaptive' is deprecated and will be removed in the next release: it computes "
        "59-79% of the positions but takes 0.46-1.21x the default exact sweep's time "
        "(benchmarks/RESULTS.md section 8). Use method='approximate', which computes about half "
        "the positions, fills the others from their neighbours and measures its error"
    )
}

#: ``"auto"`` considers the incremental pass only when the sweep has this many positions; it
#: then times the full pass and switches when that pays (:mod:`.auto`).
AUTO_MIN_POSITIONS = 64


def check_method(method) -> str:
    """Validate ``method`` (a deprecated one warns, :data:`DEPRECATED`).

    Examples
    --------
    >>> check_method("incremental")
    'incremental'
    >>> check_method("fast")
    Traceback (most recent call last):
    ...
    ValueError: method must be one of 'auto', 'full', 'incremental', 'approximate', 'adaptive'; \
got 'fast'
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    if method in DEPRECATED:
        import sys
        import warnings

        # Point at the user's call (a notebook shows DeprecationWarnings raised from there).
        frame: Any = sys._getframe(0)
        level = 1
        while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE):
            frame, level = frame.f_back, level + 1
        warnings.warn(DEPRECATED[method], DeprecationWarning, stacklevel=level)
    return method


def full_pass_info(method, model, forward, grid) -> dict | None:
    """``result.info`` when ``method`` means the full pass whatever the image (asked for, a
    plain callable, too few positions, a backend without an incremental pass); None when the
    choice needs the image or the sweep's timing.

    The multi-image sweep packs several images into each batch exactly when this is not None.

    Raises
    ------
    ValueError
        ``method="incremental"`` for a model that is not a Keras model.

    Examples
    --------
    >>> from occlusion_widget.engine import make_forward, make_grid
    >>> fwd = make_forward(lambda b: b.mean(axis=(1, 2)), batch_shape=(2, 4, 4, 3))
    >>> full_pass_info("full", None, fwd, make_grid((4, 4), 2, 2))
    {'method': 'full', 'reason': 'asked for'}
    """
    if method == "full":
        return {"method": "full", "reason": "asked for"}
    if method in ("adaptive", "approximate"):
        return None
    from .model import is_keras_model

    if not is_keras_model(model):
        reason = "the model is a plain callable, not a Keras model"
        if method == "incremental":
            raise ValueError(
                f"method='incremental' needs a Keras model; {reason}. Use method='full'"
            )
        return {"method": "full", "reason": reason}
    if method == "auto" and grid.total < AUTO_MIN_POSITIONS:
        return {
            "method": "full",
            "reason": f"{grid.total} positions: too few to repay compiling an incremental pass",
        }
    from .incremental.backends import BACKENDS

    if method == "auto" and forward.backend not in BACKENDS:
        return {
            "method": "full",
            "reason": f"the incremental pass runs on TensorFlow, JAX and torch; this model "
            f"runs on {forward.backend}",
        }
    return None


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
    info = full_pass_info(method, model, forward, grid)
    if info is not None:
        return forward, info
    from .incremental import Unsupported, estimate_fraction, is_cached, make_incremental

    clean = forward.prepare(pixels[None].astype("float32", copy=True))[0]
    if method == "auto":
        from .auto import AutoForward

        auto = AutoForward(
            forward,
            lambda: make_incremental(model, forward, clean, grid),
            grid.total + 2,
            cached=is_cached(model, clean.shape, grid),
            estimate=lambda: estimate_fraction(model, clean.shape, grid),
            model=model,
        )
        return auto, auto.info
    try:
        incremental = make_incremental(model, forward, clean, grid)
    except Unsupported as exc:
        raise ValueError(
            f"method='incremental' is not available here: {exc}. Use method='full' "
            f"(or 'auto', which falls back by itself)"
        ) from None
    return incremental, incremental.info


def approximation_note(info: dict, total: int) -> str | None:
    """One sentence saying what an approximate sweep approximated and the error it measured;
    None for an exact sweep. Titles, notes and ``repr`` show it.

    Parameters
    ----------
    info : dict
        ``result.info``.
    total : int
        Positions in the grid.

    Examples
    --------
    >>> info = {"method": "approximate", "tau": 1.0, "positions_computed": 380,
    ...         "measured_error": {"sampled": 12, "max_abs": 0.0312, "mean_abs": 0.008,
    ...                            "class_agreement": 1.0}}
    >>> approximation_note(info, 729)
    'approximate: 380 of 729 positions computed, the rest filled from neighbours; on 12 \
sampled positions the error is at most 0.031 (mean 0.008), class agreement 100%'
    >>> approximation_note({"method": "incremental"}, 729) is None
    True
    """
    if info.get("method") not in ("approximate", "adaptive"):
        return None
    done = info.get("positions_computed")
    parts = []
    if done is not None and done < total:
        parts.append(f"{done} of {total} positions computed, the rest filled from neighbours")
    tau = info.get("tau", 1.0)
    if isinstance(tau, (int, float)) and tau < 1:
        parts.append(f"each layer's update capped at {tau:g} of its map")
    error = info.get("measured_error") or info.get("error_estimate")
    text = "approximate: " + ("; ".join(parts) if parts else "no position approximated")
    if isinstance(error, dict) and error.get("sampled"):
        agree = error.get("class_agreement")
        text += (
            f"; on {error['sampled']} sampled positions the error is at most "
            f"{error.get('max_abs', float('nan')):.3f} (mean "
            f"{error.get('mean_abs_interpolated', error.get('mean_abs', float('nan'))):.3f})"
        )
        if isinstance(agree, (int, float)):
            text += f", class agreement {agree:.0%}"
    return text
