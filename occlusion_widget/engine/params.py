"""The sweep's parameters: one list of their names and defaults, and their validation.

:data:`DEFAULTS` is the single place a default lives. :func:`validate_params`,
:func:`~occlusion_widget.engine.sweep.iter_occlusion`,
:func:`~occlusion_widget.engine.sweep.occlusion_map`, the seed-compatible explainer and the widget
all take these parameters by keyword and read their defaults from here (a test checks the
signatures against :data:`SWEEP_PARAMETERS`). The only documented exception:
``occlusion_map`` shows a progress bar by default.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .baselines import describe_baseline, make_baseline
from .grid import Grid, make_grid, normalize_pair
from .images import RawImage, load_image, resize_image
from .model import OUTPUT_KINDS, declared_input_shape

__all__ = [
    "DEFAULTS",
    "SWEEP_MODES",
    "SWEEP_PARAMETERS",
    "SweepDefaults",
    "SweepParams",
    "auto_batch_size",
    "packed_batch_size",
    "reject_unknown",
    "validate_params",
]


@dataclass(frozen=True)
class SweepDefaults:
    """The keyword parameters every sweep entry point takes, with their defaults.

    Examples
    --------
    >>> DEFAULTS.patch_size, DEFAULTS.stride, DEFAULTS.baseline
    (16, 8, 'gray')
    >>> SWEEP_PARAMETERS[:3]
    ('patch_size', 'stride', 'baseline')
    """

    patch_size: Any = 16
    stride: Any = 8
    baseline: Any = "gray"
    mode: str = "occlude"
    preprocess: Any = None
    output: str = "auto"
    batch_size: Any = None
    value_range: Any = None
    resize: Any = False
    progress: Any = False
    cancel: Any = None
    method: str = "auto"

    def as_dict(self) -> dict[str, Any]:
        """The parameters as ``{name: value}``, in :data:`SWEEP_PARAMETERS` order."""
        return {name: getattr(self, name) for name in SWEEP_PARAMETERS}


#: The defaults, the one place they are written down.
DEFAULTS = SweepDefaults()
#: The names of the keyword-only sweep parameters, in signature order.
SWEEP_PARAMETERS: tuple[str, ...] = tuple(f.name for f in fields(SweepDefaults))

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
#: Accepted values of ``mode``: hide the patch (``"occlude"``) or show only the patch
#: (``"reveal"``, everything else is the baseline).
SWEEP_MODES = ("occlude", "reveal")
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


#: A multi-image sweep has no preview to wait for, and small images make cheap rows: its
#: automatic batch holds up to this many raw bytes (at least the one-image cap, at most
#: MAX_PACKED_BATCH images). The CIFAR-10 CNN of the assets runs ~1.5x faster per image with
#: 512 32x32 images a call than with 32 on a 2-core CPU (benchmarks/RESULTS.md).
PACKED_BATCH_BYTES = 8 * 2**20
PACKED_BATCH_BYTES_ACCELERATOR = 64 * 2**20
MAX_PACKED_BATCH = 512
MAX_PACKED_BATCH_ACCELERATOR = 4096


def packed_batch_size(image_bytes, accelerator=False, backend=None) -> int:
    """The automatic batch size of a multi-image sweep (positions of several images per call).

    Examples
    --------
    >>> packed_batch_size(32 * 32 * 3 * 4)
    512
    >>> packed_batch_size(224 * 224 * 3 * 4)
    32
    """
    one_image = auto_batch_size(10**9, image_bytes, accelerator, backend)
    budget = PACKED_BATCH_BYTES_ACCELERATOR if accelerator else PACKED_BATCH_BYTES
    cap = MAX_PACKED_BATCH_ACCELERATOR if accelerator else MAX_PACKED_BATCH
    return int(max(one_image, min(cap, budget // max(1, image_bytes))))


@dataclass(frozen=True)
class SweepParams:
    """Validated, normalised sweep parameters (the output of :func:`validate_params`).

    Attributes
    ----------
    image : RawImage
        The image as ``(H, W, C)`` float32 (resized when asked) plus its value range.
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
    preprocess, progress, cancel
        As given (checked).
    method : str
        ``"auto"``, ``"full"``, ``"incremental"``, ``"approximate"`` or ``"adaptive"``.
    mode : str
        ``"occlude"`` (the patch is filled with the baseline) or ``"reveal"`` (only the patch
        is kept, everything else is the baseline).

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
    preprocess: Any = None
    progress: Any = False
    cancel: Any = None
    mode: str = "occlude"
    method: str = "auto"


def lead_count(mode: str) -> int:
    """Whole images scored before the positions: the image, and in reveal mode the baseline.

    Examples
    --------
    >>> lead_count("occlude"), lead_count("reveal")
    (1, 2)
    """
    return 2 if mode == "reveal" else 1


def reject_unknown(given: Iterable[str], where: str, allowed: Iterable[str]) -> None:
    """Raise TypeError naming unknown keyword arguments, a close match, and the allowed ones.

    Examples
    --------
    >>> reject_unknown({"patchsize": 8}, "recompute()", ["patch_size", "stride"])
    Traceback (most recent call last):
    ...
    TypeError: recompute() got unexpected keyword argument(s) 'patchsize' (did you mean 'patch_size'?); allowed: patch_size, stride
    """  # noqa: E501
    allowed = list(allowed)
    unknown = [name for name in given if name not in allowed]
    if unknown:
        hints = [difflib.get_close_matches(name, allowed, n=1) for name in unknown]
        hint = "; ".join(f"did you mean {h[0]!r}?" for h in hints if h)
        raise TypeError(
            f"{where} got unexpected keyword argument(s) {', '.join(map(repr, unknown))}"
            f"{f' ({hint})' if hint else ''}; allowed: {', '.join(allowed)}"
        )


def validate_params(
    image,
    *,
    model=None,
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
) -> SweepParams:
    """Check and normalise every sweep parameter without running the model.

    The widget calls this at construction so a bad value raises at once, not in a background
    thread later; a sweep validates its parameters once.

    Parameters
    ----------
    image
        As for :func:`~occlusion_widget.engine.sweep.occlusion_map`.
    model : keras.Model or callable, optional
        Only read for its declared input size when ``resize=True``.
    patch_size, stride, baseline, mode, preprocess, output, batch_size, value_range, resize, progress, cancel, method
        As for :func:`~occlusion_widget.engine.sweep.occlusion_map` (keyword-only).

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
    """  # noqa: E501
    raw = load_image(image, value_range=value_range)
    size = _resize_target(resize, model)
    if size is not None and size != raw.pixels.shape[:2]:
        raw = resize_image(raw, size)
    h, w, c = raw.pixels.shape
    grid = make_grid((h, w), patch_size, stride)
    fill = make_baseline(raw.pixels, baseline, raw.value_range, raw.integer, grid.patch_size)
    if not isinstance(output, str) or output not in OUTPUT_KINDS:
        raise ValueError(
            f"output must be one of {', '.join(map(repr, OUTPUT_KINDS))}; got {output!r}"
        )
    if not isinstance(mode, str) or mode not in SWEEP_MODES:
        raise ValueError(
            f"mode must be 'occlude' (hide the patch) or 'reveal' (show only the patch); "
            f"got {mode!r}"
        )
    auto_batch = batch_size is None
    if auto_batch:
        batch_size = auto_batch_size(grid.total + lead_count(mode), h * w * c * 4)
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
        preprocess,
        progress,
        cancel,
        mode,
        _check_method(method, mode),
    )


def _check_method(method, mode) -> str:
    from .methods import check_method

    method = check_method(method)
    if mode == "reveal" and method in ("incremental", "adaptive", "approximate"):
        raise ValueError(
            f"method={method!r} works on occlusion sweeps only (it reuses what the clean image "
            f"computed, and in reveal mode every image is mostly baseline); use method='full' "
            f"or 'auto' with mode='reveal'"
        )
    return method


def _resize_target(resize, model) -> tuple[int, int] | None:
    """``(height, width)`` to resize to, or None: ``resize`` is False, True (the model's
    declared input size) or an explicit size."""
    if resize is False or resize is None:
        return None
    if resize is True:
        if model is None:
            raise TypeError("resize=True resizes to the model's input size: pass model= as well")
        shape = declared_input_shape(model)
        if shape is None or len(shape) < 3 or shape[1] is None or shape[2] is None:
            raise ValueError(
                f"resize=True needs a model that declares its input size (a Keras model built "
                f"with keras.Input((H, W, C))); this one declares {shape}. Pass the size "
                f"instead: resize=(height, width)"
            )
        return int(shape[1]), int(shape[2])
    return normalize_pair(resize, "resize")
