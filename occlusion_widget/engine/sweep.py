"""Stream occluded batches through the model: validation, visiting order, progress, cancel.

Occluded copies are built one batch at a time into two reused buffers, so memory does not grow
with the number of positions beyond the ``(rows, cols, K)`` result itself. A worker thread
builds and preprocesses the next batch while the model scores the current one (TensorFlow, JAX
and torch release the GIL while they compute), so the sweep runs at the speed of the model.
"""

from __future__ import annotations

import math
import numbers
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .baselines import describe_baseline, make_baseline
from .grid import Grid, make_grid
from .images import RawImage, load_image
from .methods import check_method, select_forward
from .model import (
    OUTPUT_KINDS,
    InputShapeError,
    ModelError,
    is_out_of_memory,
    make_forward,
    to_probabilities,
)
from .result import OcclusionResult

__all__ = ["SweepParams", "auto_batch_size", "iter_occlusion", "occlusion_map", "validate_params"]

#: Largest automatic batch on a CPU (throughput stops growing past ~32 images there, see
#: benchmarks/RESULTS.md) and on a GPU/TPU, and the raw bytes one automatic batch may take.
MAX_AUTO_BATCH = 32
MAX_AUTO_BATCH_ACCELERATOR = 256
AUTO_BATCH_BYTES = 64 * 2**20
AUTO_BATCH_BYTES_ACCELERATOR = 512 * 2**20
#: Backends whose CPU throughput falls past a smaller batch: torch runs MobileNetV2 at ~44
#: images/s with 16 images a call and ~21 with 32 on this project's 2-core machine (its large
#: activations are allocated and freed on every call), see benchmarks/RESULTS.md.
MAX_AUTO_BATCH_CPU_BY_BACKEND = {"torch": 16}
#: An automatic batch is at most 1/PREVIEW_BATCHES of the sweep, so the first batch (which
#: covers the coarse grid) arrives within ~1/PREVIEW_BATCHES of the sweep's time...
PREVIEW_BATCHES = 16
#: ...but never fewer images than this, so tiny sweeps are not split into tiny model calls.
MIN_AUTO_BATCH = 8


def auto_batch_size(n_items, image_bytes, accelerator=False, backend=None) -> int:
    """The automatic batch size: large enough for throughput, small enough for memory and for
    an early whole-image preview.

    Parameters
    ----------
    n_items : int
        Images in the sweep (positions + 1 for the unoccluded image).
    image_bytes : int
        Raw bytes of one float32 image.
    accelerator : bool
        Whether a GPU/TPU runs the model (larger batches pay there).
    backend : str, optional
        The Keras backend; on a CPU some run best with smaller batches (torch: 16).

    Returns
    -------
    int

    Examples
    --------
    >>> auto_batch_size(730, 224 * 224 * 3 * 4)
    32
    >>> auto_batch_size(50, 32 * 32 * 3 * 4)
    8
    >>> auto_batch_size(730, 224 * 224 * 3 * 4, backend="torch")
    16
    """
    if accelerator:
        cap = MAX_AUTO_BATCH_ACCELERATOR
    else:
        cap = MAX_AUTO_BATCH_CPU_BY_BACKEND.get(backend, MAX_AUTO_BATCH)
    budget = AUTO_BATCH_BYTES_ACCELERATOR if accelerator else AUTO_BATCH_BYTES
    preview = max(MIN_AUTO_BATCH, math.ceil(n_items / PREVIEW_BATCHES))
    return int(max(1, min(cap, preview, n_items, budget // max(1, image_bytes))))


@dataclass(frozen=True)
class SweepParams:
    """Validated, normalised sweep parameters (the output of :func:`validate_params`).

    Attributes
    ----------
    image : RawImage
        The image as ``(H, W, C)`` float32 plus its value range.
    grid : Grid
        The occluder positions.
    baseline : numpy.ndarray
        ``(H, W, C)`` float32 fill image.
    baseline_name : str
        A short description of the baseline.
    output : str
        ``"auto"``, ``"probabilities"`` or ``"logits"``.
    batch_size : int
        Images per model call (the unoccluded image rides in the first batch).
    auto_batch : bool
        Whether ``batch_size`` was chosen automatically (the sweep may then enlarge it for a
        GPU, and halves it on out-of-memory errors either way).

    Examples
    --------
    >>> p = validate_params(np.zeros((32, 32, 3), np.uint8), patch_size=8, stride=4)
    >>> p.grid.rows, p.batch_size
    (7, 8)
    """

    image: RawImage
    grid: Grid
    baseline: np.ndarray
    baseline_name: str
    output: str
    batch_size: int
    auto_batch: bool = False
    method: str = "auto"


def validate_params(
    image,
    patch_size=16,
    stride=8,
    baseline="gray",
    output="auto",
    batch_size=None,
    preprocess=None,
    progress=False,
    cancel=None,
    *,
    method="auto",
) -> SweepParams:
    """Check and normalise every sweep parameter without running the model.

    The widget calls this at construction so a bad value raises at once, not in a background
    thread later.

    Parameters
    ----------
    image, patch_size, stride, baseline, output, batch_size, preprocess, progress, cancel, method
        As for :func:`occlusion_map`.

    Returns
    -------
    SweepParams

    Raises
    ------
    ValueError, TypeError
        With a message saying what was given and what is allowed.

    Examples
    --------
    >>> validate_params(np.zeros((8, 8)), patch_size=16)
    Traceback (most recent call last):
    ...
    ValueError: patch_size (16, 16) (height, width) cannot exceed the image size (8, 8); ...
    """
    raw = load_image(image)
    h, w, c = raw.pixels.shape
    grid = make_grid((h, w), patch_size, stride)
    fill = make_baseline(raw.pixels, baseline, raw.value_range, raw.integer, grid.patch_size)
    if not isinstance(output, str) or output not in OUTPUT_KINDS:
        raise ValueError(
            f"output must be one of {', '.join(map(repr, OUTPUT_KINDS))}; got {output!r}"
        )
    auto_batch = batch_size is None
    if auto_batch:
        batch_size = auto_batch_size(grid.total + 1, h * w * c * 4)
    elif isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size must be a positive int or None; got {batch_size!r}")
    elif batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    if preprocess is not None and not callable(preprocess):
        raise TypeError(f"preprocess must be callable or None; got {type(preprocess).__name__}")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise TypeError(
            f"progress must be True, False or a callable(done, total); got {progress!r}"
        )
    if cancel is not None and not callable(getattr(cancel, "is_set", None)):
        raise TypeError(
            f"cancel must be a threading.Event (anything with is_set()); got "
            f"{type(cancel).__name__}"
        )
    return SweepParams(
        raw,
        grid,
        fill,
        describe_baseline(baseline),
        output,
        int(batch_size),
        auto_batch,
        check_method(method),
    )


def iter_occlusion(
    model,
    image,
    patch_size=16,
    stride=8,
    baseline="gray",
    preprocess=None,
    output="auto",
    batch_size=None,
    progress=False,
    cancel=None,
    *,
    method="auto",
):
    """Run an occlusion sweep, yielding the result filled so far after every batch.

    Positions are visited coarse to fine (every 2**k-th row and column first), so an early
    partial result already spans the whole image. The same :class:`OcclusionResult` object is
    yielded each time, updated in place; NaN marks positions not computed yet. The first batch
    (which also scores the unoccluded image) always runs.

    Parameters
    ----------
    model, image, patch_size, stride, baseline, preprocess, output, batch_size, method
        As for :func:`occlusion_map`.
    progress : bool or callable, default False
        ``True`` for a tqdm bar, or a ``callable(done, total)`` called after every batch.
    cancel : threading.Event, optional
        When set, the sweep stops before the next batch; the last yielded result has
        ``complete == False`` and keeps what was computed.

    Yields
    ------
    OcclusionResult

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> for partial in ow.iter_occlusion(model, np.ones((16, 16)), 4, 4, batch_size=8):
    ...     print(partial.done, partial.complete)
    7 False
    15 False
    16 True
    """
    params = validate_params(
        image,
        patch_size,
        stride,
        baseline,
        output,
        batch_size,
        preprocess,
        progress,
        cancel,
        method=method,
    )
    if params.method == "adaptive":
        from .adaptive import iter_adaptive

        yield from iter_adaptive(model, params, preprocess, progress, cancel)
        return
    raw, grid, fill, bsz = params.image, params.grid, params.baseline, params.batch_size
    pixels = raw.pixels
    h, w, c = pixels.shape
    total = grid.total
    forward = make_forward(model, preprocess, batch_shape=(bsz, h, w, c))
    if params.auto_batch:
        # Only now is the backend known (and whether a GPU runs it): size the batch for it.
        bsz = auto_batch_size(total + 1, h * w * c * 4, forward.accelerator, forward.backend)
    forward, info = select_forward(params.method, model, forward, pixels, grid)
    builder = _BatchBuilder(pixels, fill, grid, bsz)
    kind = params.output
    result = None
    bar = _make_progress(progress, total)
    # One worker builds (and preprocesses) batch i + 1 into the other buffer while the model
    # scores batch i here; the model itself always runs in the caller's thread.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="occlusion-batch")
    pending = None
    try:
        # Item 0 is the unoccluded image, items 1..total are the positions in visiting order;
        # riding the base image in the first batch costs no extra model call.
        start = 0
        pending = pool.submit(builder.build, forward, start, bsz)
        while start <= total:
            if start > 0 and cancel is not None and cancel.is_set():
                break
            stop = min(start + bsz, total + 1)
            try:
                x = pending.result()
                pending = None
                if stop <= total:
                    pending = pool.submit(builder.build, forward, stop, bsz)
                if hasattr(forward, "begin_batch"):  # incremental: which positions x holds
                    forward.begin_batch(start, stop, len(x))
                scores = _score(forward, x, builder.describe(start, stop), stop - start)
            except _OutOfMemory as oom:
                _wait(pending)
                bsz = _halve(bsz, oom, builder.describe(start, stop), (bsz, h, w, c))
                pending = pool.submit(builder.build, forward, start, bsz)
                continue
            scores = scores[: stop - start]
            probs, kind = to_probabilities(scores, kind)
            if result is None:
                k = probs.shape[1]
                result = OcclusionResult(
                    probabilities=np.full((grid.rows, grid.cols, k), np.nan, np.float32),
                    base_probabilities=probs[0],
                    computed=np.zeros((grid.rows, grid.cols), bool),
                    image=pixels,
                    baseline=fill,
                    value_range=raw.value_range,
                    patch_size=grid.patch_size,
                    stride=grid.stride,
                    tops=grid.tops,
                    lefts=grid.lefts,
                    baseline_name=params.baseline_name,
                    output_kind=kind,
                )
                result.info = info
            offset = 1 if start == 0 else 0
            cells = builder.order[start + offset - 1 : stop - 1]
            result.probabilities.reshape(-1, result.num_classes)[cells] = probs[offset:]
            result.computed.reshape(-1)[cells] = True
            start = stop
            if bar is not None:
                bar(stop - 1, total)
            yield result
    finally:
        _wait(pending)
        pool.shutdown(wait=True)
        if bar is not None:
            bar.close()


class _OutOfMemory(Exception):
    """A batch did not fit in memory (internal: the sweep halves its batch and retries)."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


class _BatchBuilder:
    """Builds the occluded batch for items ``start..start+size`` (item 0 = unoccluded image)
    into one of two alternating buffers, then preprocesses it."""

    def __init__(self, pixels, fill, grid, size):
        self.pixels = pixels
        self.fill = fill
        self.total = grid.total
        self.order = grid.order()
        self.rows_of = grid.tops[self.order // grid.cols]
        self.cols_of = grid.lefts[self.order % grid.cols]
        ph, pw = grid.patch_size
        # Index grids for one patch, broadcast over the batch.
        self.dy = np.arange(ph)[None, :, None]
        self.dx = np.arange(pw)[None, None, :]
        self.buffers = [np.empty((size, *pixels.shape), np.float32) for _ in range(2)]
        self.turn = 0

    def describe(self, start, stop):
        first, last = max(start, 1) - 1, stop - 1
        what = f"positions {first}-{last - 1} of {self.total} (in visiting order)"
        if start == 0:
            what = f"the unoccluded image and {what}" if last > first else "the unoccluded image"
        return what

    def build(self, forward, start, size):
        buffer = self.buffers[self.turn][:size]
        self.turn ^= 1
        stop = min(start + size, self.total + 1)
        # Padded rows stay unoccluded copies: finite and cheap. Restoring the whole buffer (not
        # just the last patches) is needed anyway: preprocess may work in place.
        np.copyto(buffer, self.pixels)
        offset = 1 if start == 0 else 0
        first = start + offset - 1  # index into `order` of this batch's first position
        n_pos = stop - 1 - first
        if n_pos > 0:
            b = np.arange(offset, offset + n_pos)[:, None, None]
            r = self.rows_of[first : stop - 1, None, None] + self.dy
            col = self.cols_of[first : stop - 1, None, None] + self.dx
            buffer[b, r, col] = self.fill[r, col]
        try:
            return forward.prepare(buffer)
        except InputShapeError:
            raise
        except Exception as exc:
            if is_out_of_memory(exc):
                raise _OutOfMemory(exc) from exc
            raise ModelError(
                f"preprocess raised {type(exc).__name__}: {_short_message(exc)} while "
                f"scoring {self.describe(start, stop)} (batch shape {buffer.shape})"
            ) from exc


def _wait(future):
    """Let a pending build finish (its errors belong to a batch that will not be used)."""
    if future is not None and not future.cancel():
        try:
            future.result()
        except Exception:  # the batch is discarded, and so is its error
            pass


def _halve(size, oom, what, shape):
    if size <= 1:
        raise ModelError(
            f"out of memory even with a batch of 1 image while scoring {what} (batch shape "
            f"{shape}): {type(oom.cause).__name__}: {_short_message(oom.cause)}. Use a smaller "
            f"image or model, or free memory (close other sessions using the GPU)"
        ) from oom.cause
    return size // 2


def occlusion_map(
    model,
    image,
    patch_size=16,
    stride=8,
    baseline="gray",
    preprocess=None,
    output="auto",
    batch_size=None,
    progress=True,
    cancel=None,
    *,
    method="auto",
) -> OcclusionResult:
    """Slide a patch over an image and record the model's class probabilities at every position.

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
        What fills the patch, in raw pixel space (see
        :func:`~occlusion_widget.engine.baselines.make_baseline`).
    preprocess : callable, optional
        Applied to each occluded raw-space float32 batch before the model.
    output : {"auto", "probabilities", "logits"}, default "auto"
        Whether the model returns probabilities or logits (softmax applied); ``"auto"`` decides
        from the scores. A single sigmoid output becomes two classes ``[1 - p, p]``.
    batch_size : int, optional
        Images per model call; chosen automatically when None (at most 32 on a CPU, 256 on a
        GPU, and at most 1/16 of the sweep so the first batch gives an early whole-image
        preview). On an out-of-memory error the batch is halved and retried.
    progress : bool or callable, default True
        A tqdm bar, ``False``, or a ``callable(done, total)``.
    cancel : threading.Event, optional
        When set, stop soon and return what was computed (``complete == False``).
    method : {"auto", "full", "incremental", "adaptive"}, default "auto"
        ``"full"`` runs the model on every occluded copy. ``"incremental"`` (exact, Keras
        models on TensorFlow) computes per layer only the region the patch can change.
        ``"adaptive"`` (approximate) scores a coarse grid and refines where the map changes;
        ``result.info`` carries its error estimate. ``"auto"`` runs incrementally where the
        model is supported and that pays, in full otherwise. ``result.info`` says what ran.

    Returns
    -------
    OcclusionResult

    Raises
    ------
    ValueError, TypeError
        Bad parameters, an image that does not fit the model, NaN scores.
    ModelError
        The model or ``preprocess`` raised; the original exception is chained.

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
    result = None
    for partial in iter_occlusion(
        model,
        image,
        patch_size,
        stride,
        baseline,
        preprocess,
        output,
        batch_size,
        progress,
        cancel,
        method=method,
    ):
        result = partial
    return result


def _score(forward, x, what, n):
    """Run the model on a prepared batch of which the first ``n`` rows are real images."""
    try:
        scores = forward.run(x)
    except InputShapeError:
        raise
    except Exception as exc:
        if is_out_of_memory(exc):
            raise _OutOfMemory(exc) from exc
        raise ModelError(
            f"the model raised {type(exc).__name__}: {_short_message(exc)} while scoring "
            f"{what} (batch shape {x.shape})"
        ) from exc
    if scores.shape[0] != x.shape[0]:
        raise ValueError(
            f"the model returned {scores.shape[0]} score rows for a batch of {x.shape[0]} "
            f"images; it must return one row per image"
        )
    bad = ~np.isfinite(scores[:n])
    if bad.any():
        label = "NaN" if np.isnan(scores[:n]).any() else "infinite values"
        raise ValueError(
            f"the model returned {label} while scoring {what}; occlusion needs finite class "
            f"scores (check the preprocessing and the image's value range {x.dtype})"
        )
    return scores


def _short_message(exc, limit=400):
    # Framework messages run to pages (TF's graph traces, Keras's argument dumps, ANSI bold);
    # keep the part a person reads, on one line. The full exception stays chained.
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    for marker in ("Arguments received by", "Traceback (most recent call last)"):
        text = text.split(marker)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("File ", "[[", "Stack trace"))]
    text = " ".join(lines)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Progress:
    def __init__(self, progress, total):
        self._callback = None
        self._bar = None
        if callable(progress) and not isinstance(progress, bool):
            self._callback = progress
        else:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc="occlusion", unit="pos", leave=False)

    def __call__(self, done, total):
        if self._callback is not None:
            self._callback(done, total)
        else:
            self._bar.update(done - self._bar.n)

    def close(self):
        if self._bar is not None:
            self._bar.close()


def _make_progress(progress, total):
    if progress is None or progress is False:
        return None
    return _Progress(progress, total)
