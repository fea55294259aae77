"""Stream occluded batches through the model: validation, visiting order, progress, cancel.

Scoring one batch (and its errors) lives in :mod:`.scoring`, the progress bar in :mod:`.progress`.

Occluded copies are built one batch at a time into two reused buffers, so memory does not grow
with the number of positions beyond the ``(rows, cols, K)`` result itself. A worker thread
builds and preprocesses the next batch while the model scores the current one (TensorFlow, JAX
and torch release the GIL while they compute), so the sweep runs at the speed of the model.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from .batches import BatchBuilder, OutOfMemory, halve, wait
from .methods import select_forward
from .model import ModelError, check_scores, make_forward, to_probabilities
from .params import (
    DEFAULTS,
    MAX_AUTO_BATCH,
    PREVIEW_BATCHES,
    SWEEP_PARAMETERS,
    SweepParams,
    auto_batch_size,
    lead_count,
    validate_params,
)
from .progress import _make_progress
from .refinement import SweepOrder
from .result import OcclusionResult
from .scoring import _score

__all__ = [
    "MAX_AUTO_BATCH",
    "PREVIEW_BATCHES",
    "SWEEP_PARAMETERS",
    "SweepParams",
    "auto_batch_size",
    "empty_result",
    "iter_occlusion",
    "occlusion_map",
    "run_sweep",
    "validate_params",
]


def iter_occlusion(
    model,
    image,
    *,
    patch_size=DEFAULTS.patch_size,
    stride=DEFAULTS.stride,
    baseline=DEFAULTS.baseline,
    mode=DEFAULTS.mode,
    preprocess=DEFAULTS.preprocess,
    output=DEFAULTS.output,
    batch_size=DEFAULTS.batch_size,
    value_range=DEFAULTS.value_range,
    resize=DEFAULTS.resize,
    progress=DEFAULTS.progress,
    cancel=DEFAULTS.cancel,
    method=DEFAULTS.method,
):
    """Run an occlusion sweep, yielding the result filled so far after every batch.

    Positions are visited coarse to fine (every 2**k-th row and column first), so an early
    partial result already spans the whole image. The same :class:`OcclusionResult` object is
    yielded each time, updated in place; NaN marks positions not computed yet. The first batch
    (which also scores the unoccluded image) always runs.

    Parameters
    ----------
    model, image
        As for :func:`occlusion_map`.
    patch_size, stride, baseline, mode, preprocess, output, batch_size, value_range, resize
        As for :func:`occlusion_map`; keyword-only.
    progress : bool or callable, default False
        ``True`` for a tqdm bar, or a ``callable(done, total)`` called after every batch.
    cancel : threading.Event, optional
        When set, the sweep stops before the next batch; the last yielded result has
        ``complete == False`` and keeps what was computed.

    Yields
    ------
    OcclusionResult

    Raises
    ------
    ModelError
        Its ``partial_result`` keeps the positions scored before the failure.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> sweep = ow.iter_occlusion(model, np.ones((16, 16)), patch_size=4, stride=4,
    ...                           batch_size=8)
    >>> for partial in sweep:
    ...     print(partial.done, partial.complete)
    7 False
    15 False
    16 True
    """
    params = validate_params(
        image,
        model=model,
        patch_size=patch_size,
        stride=stride,
        baseline=baseline,
        mode=mode,
        preprocess=preprocess,
        output=output,
        batch_size=batch_size,
        value_range=value_range,
        resize=resize,
        progress=progress,
        cancel=cancel,
        method=method,
    )
    return run_sweep(model, params)


def run_sweep(model, params: SweepParams):
    """Run a sweep whose parameters :func:`validate_params` already checked (a generator, as
    :func:`iter_occlusion`): callers that validate early (the widget, the seed-compatible
    explainer) do not validate twice.

    Examples
    --------
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> params = validate_params(np.ones((8, 8)), patch_size=4, stride=4)
    >>> [partial.done for partial in run_sweep(model, params)]
    [4]
    """
    if params.method == "adaptive":
        from .adaptive import iter_adaptive

        yield from iter_adaptive(model, params, params.preprocess, params.progress, params.cancel)
        return
    if params.method == "approximate":
        from .approximate import iter_approximate

        yield from iter_approximate(model, params)
        return
    raw, grid, fill, bsz = params.image, params.grid, params.baseline, params.batch_size
    pixels = raw.pixels
    h, w, c = pixels.shape
    total = grid.total
    lead = lead_count(params.mode)
    n_items = total + lead
    forward = make_forward(model, params.preprocess, batch_shape=(bsz, h, w, c))
    if params.auto_batch:
        # Only now is the backend known (and whether a GPU runs it): size the batch for it.
        bsz = auto_batch_size(n_items, h * w * c * 4, forward.accelerator, forward.backend)
    # Reveal mode's images are mostly baseline: nothing to reuse from the clean image.
    method = "full" if params.mode == "reveal" and params.method == "auto" else params.method
    forward, info = select_forward(method, model, forward, pixels, grid)
    # The visiting order follows the adaptive drill-down first (refinement.py), so a partial
    # map is the adaptive one; the rest comes after. The result does not depend on the order.
    order = SweepOrder(grid)
    builder = BatchBuilder(pixels, fill, grid, bsz, params.mode, order=order.order)
    kind = params.output
    result: OcclusionResult | None = None
    bar = _make_progress(params.progress, total)
    cancel = params.cancel
    # One worker builds (and preprocesses) batch i + 1 into the other buffer while the model
    # scores batch i here; the model itself always runs in the caller's thread.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="occlusion-batch")
    pending: Future | None = None
    batch_number = 0
    try:
        # Item 0 is the unoccluded image (in reveal mode item 1 is the all-baseline image), the
        # other items are the positions in visiting order; riding the whole images in the first
        # batch costs no extra model call.
        start = 0
        pending = pool.submit(builder.build, forward, start, bsz)
        while start < n_items:
            if start > 0 and cancel is not None and cancel.is_set():
                break
            stop = min(start + bsz, n_items)
            what = builder.describe(start, stop)
            try:
                if pending is None:
                    pending = pool.submit(builder.build, forward, start, bsz)
                x = pending.result()
                pending = None
                # Build the next batch while this one is scored, unless it would reach past
                # the cells the adaptive drill-down has asked for (then it is built after
                # this batch is recorded, from the drill-down's next request).
                if stop < n_items and min(stop + bsz, n_items) - lead <= order.decided:
                    pending = pool.submit(builder.build, forward, stop, bsz)
                if hasattr(forward, "set_cells"):  # incremental: which positions x holds
                    forward.set_cells(builder.cells(start, len(x)))
                scores = _score(forward, x, what, stop - start, raw.value_range)
            except OutOfMemory as oom:
                wait(pending)
                bsz = halve(bsz, oom, what, (bsz, h, w, c))
                pending = pool.submit(builder.build, forward, start, bsz)
                continue
            batch_number += 1
            scores = scores[: stop - start]
            probs, kind = to_probabilities(scores, kind)
            # Every batch, not just the first, must fit the output kind.
            check_scores(scores, kind, f"batch {batch_number} ({what})", params.output == "auto")
            if result is None:
                result = empty_result(params, probs[0], kind, info)
            if start <= 1 < stop and lead == 2:
                result.baseline_probabilities[:] = probs[1 - start]
            # Positions in this batch: items max(start, lead)..stop-1 (none when a batch smaller
            # than the whole images holds only those).
            offset = min(max(start, lead), stop) - start
            cells = builder.order[start + offset - lead : max(stop, lead) - lead]
            result.probabilities.reshape(-1, result.num_classes)[cells] = probs[offset:]
            result.computed.reshape(-1)[cells] = True
            # Only entries no batch was built from may move: the next batch is being built.
            built = min(stop + bsz, n_items) if pending is not None else stop
            order.record(
                cells, probs[offset:], max(built - lead, 0), base=probs[0] if start == 0 else None
            )
            start = stop
            if bar is not None:
                bar(max(stop - lead, 0), total)
            yield result
    except ModelError as exc:
        # The work done so far is kept: a failure in the last batch loses only that batch.
        exc.partial_result = result
        raise
    finally:
        wait(pending)
        pool.shutdown(wait=True)
        if bar is not None:
            bar.close()


def empty_result(params: SweepParams, base_probabilities, kind, info) -> OcclusionResult:
    """The result a sweep fills in: every position NaN and not computed yet.

    Parameters
    ----------
    params : SweepParams
        The sweep's validated parameters (image, grid, baseline, mode).
    base_probabilities : numpy.ndarray
        ``(K,)`` probabilities of the unoccluded image.
    kind : str
        How the scores were read (see :func:`~.model.to_probabilities`).
    info : dict
        How the positions are computed (``result.info``).

    Examples
    --------
    >>> params = validate_params(np.ones((8, 8)), patch_size=4, stride=4)
    >>> result = empty_result(params, np.array([0.5, 0.5]), "probabilities", {})
    >>> result.probabilities.shape, bool(result.computed.any())
    ((2, 2, 2), False)
    """
    grid, raw = params.grid, params.image
    k = len(base_probabilities)
    result = OcclusionResult(
        probabilities=np.full((grid.rows, grid.cols, k), np.nan, np.float32),
        base_probabilities=base_probabilities,
        computed=np.zeros((grid.rows, grid.cols), bool),
        image=raw.pixels,
        baseline=params.baseline,
        value_range=raw.value_range,
        patch_size=grid.patch_size,
        stride=grid.stride,
        tops=grid.tops,
        lefts=grid.lefts,
        baseline_name=params.baseline_name,
        output_kind=kind,
        mode=params.mode,
    )
    result.info = info
    return result


def occlusion_map(
    model,
    image,
    *,
    patch_size=DEFAULTS.patch_size,
    stride=DEFAULTS.stride,
    baseline=DEFAULTS.baseline,
    mode=DEFAULTS.mode,
    preprocess=DEFAULTS.preprocess,
    output=DEFAULTS.output,
    batch_size=DEFAULTS.batch_size,
    value_range=DEFAULTS.value_range,
    resize=DEFAULTS.resize,
    progress=True,
    cancel=DEFAULTS.cancel,
    method=DEFAULTS.method,
) -> OcclusionResult:
    """Slide a patch over an image and record the model's class probabilities at every position.

    Every parameter after ``image`` is keyword-only; their names and defaults are
    :data:`~occlusion_widget.engine.params.SWEEP_PARAMETERS` (only ``progress`` defaults
    differently here: a bar).

    Parameters
    ----------
    model : keras.Model or callable
        A Keras 3 model (any backend) or a callable: float32 batch ``(N, H, W, C)`` ->
        ``(N, K)`` scores. Called through a compiled forward pass, never ``predict()``.
    image : array-like, PIL.Image.Image or path
        ``(H, W)`` or ``(H, W, C)``, uint8 or float, or a batch of one ``(1, H, W, C)``.
    patch_size : int or tuple of int, default 16
        Occluder ``(height, width)``.
    stride : int or tuple of int, default 8
        Step between positions, at most the patch size. A last row/column flush with the edge
        is added when the stride does not land on it.
    baseline : str, number, tuple or array, default "gray"
        What fills the patch, in raw pixel space: "gray", "black" and "white" are the middle,
        bottom and top of ``value_range`` (see
        :func:`~occlusion_widget.engine.baselines.make_baseline`).
    preprocess : callable, optional
        Applied to each occluded raw-space float32 batch before the model.
    output : {"auto", "probabilities", "logits"}, default "auto"
        Whether the model returns probabilities or logits (softmax applied); ``"auto"`` decides
        from the first batch's scores. Every batch is checked against the kind: probabilities
        must lie in [0, 1] (within 1e-3, float32 rounding). A single sigmoid output becomes
        two classes ``[1 - p, p]``.
    batch_size : int, optional
        Images per model call; chosen automatically when None (at most 32 on a CPU, 256 on a
        GPU, and at most 1/16 of the sweep so the first batch gives an early whole-image
        preview). On an out-of-memory error the batch is halved and retried.
    value_range : tuple of float, optional
        ``(lo, hi)`` the image's pixels are meant to span. By default the nominal range that
        holds them: [0, 255] for 8-bit images, else [0, 1], [-1, 1] or [0, 255] (see
        :func:`~occlusion_widget.engine.images.value_range_of`).
    resize : bool or tuple of int, default False
        ``True`` resizes the image (Pillow, antialiased) to the model's declared input size;
        ``(height, width)`` to that size. The result keeps the resized image.
    progress : bool or callable, default True
        A tqdm bar, ``False``, or a ``callable(done, total)``.
    cancel : threading.Event, optional
        When set, stop soon and return what was computed (``complete == False``).
    mode : {"occlude", "reveal"}, default "occlude"
        ``"occlude"`` asks "what does the model lose when this patch is hidden?": each image is
        the original with the patch filled with the baseline. ``"reveal"`` asks the dual "is
        this patch alone evidence?": each image is the baseline everywhere except the patch,
        which keeps the original pixels. Reveal also scores the all-baseline image
        (``result.baseline_probabilities``); its sensitivity is the gain over that image (see
        :meth:`OcclusionResult.sensitivity`).
    method : {"auto", "full", "incremental", "approximate", "adaptive"}, default "auto"
        ``"full"`` runs the model on every occluded copy; ``"incremental"`` (exact, Keras models
        on TensorFlow, JAX or torch) computes per layer only the region the patch can change;
        ``"auto"`` starts in full and switches to incremental where the sweep's own timing says
        it pays (set-up included). ``"approximate"`` drills down from a coarse grid (and can cap
        the regions: :mod:`~occlusion_widget.engine.approximate`); ``info["measured_error"]``
        holds its error on an exactly computed sample. ``"adaptive"`` is deprecated. Exact
        sweeps visit the drill-down's cells first, so a partial result is the drill-down's map.

    Returns
    -------
    OcclusionResult

    Raises
    ------
    ValueError, TypeError
        Bad parameters, an image that does not fit the model, NaN scores, scores that do not
        fit ``output``.
    ModelError
        The model or ``preprocess`` raised; the original exception is chained, and
        ``partial_result`` keeps what was computed before (``complete == False``).

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> def model(batch):  # class 1 = brightness of the top-left 4x4 corner
    ...     p = batch[:, :4, :4].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> result = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                           baseline="black", progress=False)
    >>> result.sensitivity(1).tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    result: OcclusionResult | None = None
    for partial in iter_occlusion(
        model,
        image,
        patch_size=patch_size,
        stride=stride,
        baseline=baseline,
        mode=mode,
        preprocess=preprocess,
        output=output,
        batch_size=batch_size,
        value_range=value_range,
        resize=resize,
        progress=progress,
        cancel=cancel,
        method=method,
    ):
        result = partial
    assert result is not None  # the first batch always runs or raises
    return result
