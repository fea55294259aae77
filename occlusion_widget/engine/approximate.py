"""method="approximate": cheaper passes (projective-field thresholding), fewer of them
(drill-down), and the error measured on a sample.

Two approximations, each optional, both on top of the exact passes:

- **Projective-field thresholding** (``tau < 1``, :mod:`.incremental.threshold`): in the
  incremental pass, a layer's updated box is capped at ``tau`` of its map's height and width;
  outside it the unoccluded image's activations are reused. Every pass is cheaper and every
  value a little off.
- **Drill-down** (``tolerance`` not None, :class:`~.quincunx.Drill`): a coarse lattice
  everywhere, then only the cells whose neighbours disagree (in class, or by more than
  ``tolerance`` of the map's scale); the others are filled from their neighbours
  (``info["estimated"]`` marks them, and the widget draws them as estimates).

Whatever was approximated, the sweep then computes a seeded sample of the approximated cells
exactly (every cell when ``tau < 1``, else the filled ones) and stores what it found in
``result.info["measured_error"]``: ``cells`` (flat indices), ``max_abs`` and ``mean_abs`` (the
largest class's absolute probability error per cell, largest and mean over the sample),
``class_agreement`` (share of the sample whose predicted class is right) and ``share`` (the
share of the map the sample stands for: the rest is exact). The map keeps its approximate values
there, so the numbers describe the map as shown; they are saved and loaded with the result.
"""

from __future__ import annotations

import numpy as np

from .cells import SAMPLE, CellScorer, measure_error
from .incremental.threshold import check_tau
from .methods import full_pass_info
from .model import ModelError, make_forward
from .progress import _make_progress
from .quincunx import Drill
from .result import OcclusionResult

__all__ = [
    "DEFAULT_TAU",
    "DEFAULT_TOLERANCE",
    "SAMPLE",
    "CellScorer",
    "approximate_map",
    "check_tolerance",
    "iter_approximate",
    "measure_error",
]

#: Default projective-field threshold (benchmarks/RESULTS.md section 8, "Approximate").
DEFAULT_TAU = 1.0
#: Default drill-down tolerance (None: every position is computed).
DEFAULT_TOLERANCE: float | None = 0.5


def check_tolerance(tolerance) -> float | None:
    """Validate a drill-down tolerance: None (no drill-down) or a number > 0.

    Examples
    --------
    >>> check_tolerance(0.3), check_tolerance(None)
    (0.3, None)
    >>> check_tolerance(-1)
    Traceback (most recent call last):
    ...
    ValueError: tolerance must be None (compute every position) or a number > 0 (a share of \
the map's largest change); got -1
    """
    if tolerance is None:
        return None
    number = isinstance(tolerance, (int, float, np.floating, np.integer))
    if isinstance(tolerance, bool) or not number or not float(tolerance) > 0:
        raise ValueError(
            f"tolerance must be None (compute every position) or a number > 0 (a share of the "
            f"map's largest change); got {tolerance!r}"
        )
    return float(tolerance)


def _inner_forward(model, full, params, tau):
    """The forward pass that computes the positions: the thresholded incremental pass, or
    (``tau == 1``) the exact one where the default exact sweep would switch to it (auto's rule
    on every position: never slower than that sweep), and whether its values are exact."""
    pixels, grid = params.image.pixels, params.grid
    if tau >= 1:
        info = full_pass_info("auto", model, full, grid)
        if info is not None:
            return full, info
    from .incremental import Unsupported, estimate_fraction, is_cached, make_incremental

    clean = full.prepare(pixels[None].astype("float32", copy=True))[0]
    if tau >= 1:
        from .auto import AutoForward

        if is_cached(model, clean.shape, grid):
            # The compiled exact pass is there (an earlier sweep of this model, image size,
            # patch and stride): at 0.2 s of set-up it pays from the first batch, where auto
            # would time two batches in full first.
            try:
                inner = make_incremental(model, full, clean, grid)
                return inner, dict(inner.info)
            except Unsupported:
                pass
        build = lambda: make_incremental(model, full, clean, grid)  # noqa: E731
        # Decided as the default exact sweep decides, for every position: weighed on its own
        # half of them, auto's rule (incremental ~ FLOP share x full) can keep the full pass
        # where the default switches, and then this sweep took 1.21x the default's time on a
        # photo whose incremental pass ran at 0.2x the full one (RESULTS section 8).
        auto = AutoForward(
            full,
            build,
            grid.total + 2,
            note=" (weighed as the exact sweep)",
            estimate=lambda: estimate_fraction(model, clean.shape, grid),
            model=model,
        )
        return auto, auto.info
    try:
        inner = make_incremental(model, full, clean, grid, tau=tau)
    except Unsupported as exc:
        raise ValueError(
            f"method='approximate' with tau={tau} needs the incremental pass, which is not "
            f"available here: {exc}. Use tau=1 (exact passes, drill-down only) or "
            f"method='auto'"
        ) from None
    return inner, dict(inner.info)


def iter_approximate(model, params, tau=None, tolerance="default"):
    """The approximate sweep behind ``method="approximate"`` (and :func:`approximate_map`);
    yields the result after every batch or level, the last one complete and measured.

    ``result.info``: ``method`` ("approximate"), ``tau``, ``tolerance``, ``inner`` (what
    computed the positions: "incremental", with its ``flop_fraction``, or "full"),
    ``positions_computed``, ``passes_saved``, ``estimated`` (cells filled from neighbours)
    and, on the last result, ``measured_error`` (:func:`measure_error`).
    """
    tau = check_tau(DEFAULT_TAU if tau is None else tau)
    tolerance = check_tolerance(DEFAULT_TOLERANCE if tolerance == "default" else tolerance)
    grid, pixels = params.grid, params.image.pixels
    h, w, c = pixels.shape
    full = make_forward(model, params.preprocess, batch_shape=(params.batch_size, h, w, c))
    inner, inner_info = _inner_forward(model, full, params, tau)
    info = {"method": "approximate", "tau": tau, "tolerance": tolerance}
    score = CellScorer(inner, params)
    steps = _drill(score, grid, tolerance, params) if tolerance else _every(score, grid, params)
    result = None
    bar = _make_progress(params.progress, grid.total)
    try:
        for probabilities, base, known, exact in steps:
            if result is None:
                result = _new_result(params, probabilities, base, score.kind, info)
            result.probabilities = probabilities
            result.computed[...] = known
            inner_info = getattr(inner, "info", inner_info)
            info["inner"] = inner_info.get("method", "full")
            if "flop_fraction" in inner_info:
                info["flop_fraction"] = inner_info["flop_fraction"]
            info["positions_computed"] = int(exact.sum())
            info["passes_saved"] = round((grid.total + 1) / max(1, score.passes), 3)
            info["estimated"] = result.computed & ~exact
            if bar is not None:
                bar(int(result.computed.sum()), grid.total)
            if result.complete:
                break
            yield result
    except ModelError as exc:
        exc.partial_result = result  # what was computed and filled so far is kept
        raise
    finally:
        if bar is not None:
            bar.close()
    if result is None:
        return
    if result.complete:
        # With exact passes only the filled cells are approximate: sample those, exactly,
        # with the same pass; with thresholded passes every cell, with the full pass.
        approximated = info["estimated"] if tau >= 1 else np.ones_like(info["estimated"])
        exact_score = score if tau >= 1 else CellScorer(full, params)
        try:
            info["measured_error"] = measure_error(
                result.probabilities, exact_score, np.flatnonzero(approximated.ravel())
            )
        except ModelError as exc:
            exc.partial_result = result  # the map is whole; only its error went unmeasured
            raise
        info["passes_saved"] = round((grid.total + 1) / max(1, score.passes), 3)
    yield result


def _every(score, grid, params):
    """Every position, in batches (thresholding alone)."""
    exact = np.zeros((grid.rows, grid.cols), bool)
    first = score([], with_base=True)
    base = first[0]
    probabilities = np.full((grid.rows, grid.cols, len(base)), np.nan, np.float32)
    flat = probabilities.reshape(grid.total, -1)
    bsz = params.batch_size
    for start in range(0, grid.total, bsz):
        if start and params.cancel is not None and params.cancel.is_set():
            return
        cells = np.arange(start, min(start + bsz, grid.total))
        flat[cells] = score(cells)
        exact.ravel()[cells] = True
        yield probabilities, base, exact, exact


def _drill(score, grid, tolerance, params):
    """The coarse-to-fine drill-down (:class:`~.quincunx.Drill`), a step per level."""
    drill = Drill(grid, tolerance)
    cells = drill.first()
    got = score(cells, with_base=True)
    drill.add(cells, got[1:], base=got[0])
    yield drill.probabilities, drill.base, drill.known, drill.exact
    while len(cells := drill.advance()):
        if params.cancel is not None and params.cancel.is_set():
            return
        drill.add(cells, score(cells))
        yield drill.probabilities, drill.base, drill.known, drill.exact
    yield drill.probabilities, drill.base, drill.known, drill.exact


def _new_result(params, probabilities, base, kind, info):
    grid = params.grid
    result = OcclusionResult(
        probabilities=probabilities,
        base_probabilities=base,
        computed=np.zeros((grid.rows, grid.cols), bool),
        image=params.image.pixels,
        baseline=params.baseline,
        value_range=params.image.value_range,
        patch_size=grid.patch_size,
        stride=grid.stride,
        tops=grid.tops,
        lefts=grid.lefts,
        baseline_name=params.baseline_name,
        output_kind=kind,
    )
    result.info = info
    return result


def approximate_map(model, image, *, tau=None, tolerance="default", **params):
    """An approximate occlusion map: ``occlusion_map(..., method="approximate")`` with its
    two settings.

    Parameters
    ----------
    model, image
        As for :func:`~occlusion_widget.engine.sweep.occlusion_map`.
    tau : float, optional
        Projective-field threshold in (0, 1]: the largest share of a layer's map height and
        width an updated box may cover (1: exact passes). Default :data:`DEFAULT_TAU`.
    tolerance : float or None, optional
        Drill-down tolerance (a share of the map's largest change; larger computes fewer
        positions: :mod:`.quincunx`), or None to compute every position. Default
        :data:`DEFAULT_TOLERANCE`.
    **params
        Any other sweep parameter of :func:`~occlusion_widget.engine.sweep.occlusion_map`
        (``patch_size``, ``stride``, ``preprocess``, ...; ``method`` is "approximate").

    Returns
    -------
    OcclusionResult
        ``info["measured_error"]`` holds the error found on the exactly computed sample.

    Raises
    ------
    ValueError
        A bad ``tau`` or ``tolerance``; ``tau < 1`` for a model without an incremental pass.

    Examples
    --------
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = approximate_map(model, np.ones((16, 16)), patch_size=4, stride=4)
    >>> result.info["method"], result.info["measured_error"]["max_abs"]
    ('approximate', 0.0)
    """
    from .params import SWEEP_PARAMETERS, reject_unknown, validate_params

    allowed = [name for name in SWEEP_PARAMETERS if name != "method"]
    reject_unknown(params, "approximate_map()", ["tau", "tolerance", *allowed])
    tau = check_tau(DEFAULT_TAU if tau is None else tau)
    tolerance = check_tolerance(DEFAULT_TOLERANCE if tolerance == "default" else tolerance)
    checked = validate_params(image, model=model, **{**params, "method": "approximate"})
    result = None
    for partial in iter_approximate(model, checked, tau, tolerance):
        result = partial
    assert result is not None  # the first batch always runs or raises
    return result
