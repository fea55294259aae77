"""Occlusion maps of many images: the positions of several images share each model call.

One image of 32x32 at patch 8, stride 8 is 17 model inputs; swept alone it makes one small,
padded batch, and a dataset of such images runs at a fraction of the model's batched speed.
:func:`iter_occlusion_maps` cuts the inputs of consecutive images into full batches instead
(:mod:`.packed`), and gives each image the result :func:`~.sweep.occlusion_map` gives it.

Images whose sweep would use another method than the full pass (``method="auto"`` choosing
the incremental pass for large images, ``"incremental"``, ``"adaptive"``) are swept one by one
with the one-image sweep: their cost is the model, not the batching.
"""

from __future__ import annotations

from dataclasses import replace

from .baselines import make_baseline
from .images import load_image
from .methods import full_pass_info
from .model import make_forward
from .packed import IMAGE_ERRORS, Entry, run_packed, run_solo
from .params import DEFAULTS, packed_batch_size, validate_params
from .progress import _make_progress
from .result import OcclusionResult

__all__ = ["ERROR_MODES", "iter_occlusion_maps", "occlusion_maps"]

#: What a failing image does: stop the sweep (``"raise"``) or stand in its place
#: (``"return"``: the exception is yielded instead of a result).
ERROR_MODES = ("raise", "return")


def iter_occlusion_maps(
    model,
    images,
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
    errors="raise",
):
    """Sweep many images, packing the positions of several images into each model call.

    Yields one complete :class:`OcclusionResult` per image, in order, equal to what
    :func:`occlusion_map` returns for that image with the same parameters (exactly, for a
    model whose score for one input does not depend on the other inputs of its batch).
    Images are read from ``images`` as the batches need them, so a generator of a million
    images holds only the images in flight.

    Parameters
    ----------
    model : keras.Model or callable
        As for :func:`occlusion_map`.
    images : iterable
        Images as :func:`occlusion_map` takes them. Consecutive images of one size share
        batches; a change of size starts a new run (and a new compiled shape).
    patch_size, stride, baseline, mode, preprocess, output, value_range, resize, method
        As for :func:`occlusion_map`, shared by every image.
    batch_size : int, optional
        Model inputs per call, whatever image they belong to. Chosen automatically when None:
        larger than a single image's sweep would use for small images (see
        :func:`~.params.packed_batch_size`).
    progress : bool or callable, default False
        ``True`` for a tqdm bar over images, or ``callable(done, total)`` after every image
        (``total`` is None when ``images`` has no length).
    cancel : threading.Event, optional
        When set, stop before the next batch; images not finished are not yielded.
    errors : {"raise", "return"}, default "raise"
        ``"return"`` yields the exception (``ModelError``, ``ValueError``, ``TypeError``) in
        place of an image whose sweep fails, and goes on with the others.

    Yields
    ------
    OcclusionResult or Exception

    Examples
    --------
    >>> import numpy as np
    >>> from occlusion_widget.engine import iter_occlusion_maps
    >>> def model(batch):  # class 1 = brightness of the top-left 4x4 corner
    ...     p = batch[:, :4, :4].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> images = [np.ones((8, 8)), np.zeros((8, 8))]
    >>> maps = iter_occlusion_maps(model, images, patch_size=4, stride=4, baseline="black")
    >>> [float(r.base_probabilities[1]) for r in maps]
    [1.0, 0.0]
    """
    if errors not in ERROR_MODES:
        raise ValueError(f"errors must be 'raise' or 'return'; got {errors!r}")
    options = dict(
        patch_size=patch_size,
        stride=stride,
        baseline=baseline,
        mode=mode,
        preprocess=preprocess,
        output=output,
        batch_size=batch_size,
        value_range=value_range,
        resize=resize,
        cancel=cancel,
        method=method,
    )
    total = len(images) if hasattr(images, "__len__") else None
    bar = _make_progress(progress, total)
    done = 0
    outcomes = _outcomes(model, images, options, cancel)
    try:
        for outcome in outcomes:
            if errors == "raise" and isinstance(outcome, BaseException):
                raise outcome
            done += 1
            if bar is not None:
                bar(done, total)
            yield outcome
    finally:
        outcomes.close()
        if bar is not None:
            bar.close()


def occlusion_maps(model, images, **options) -> list[OcclusionResult]:
    """Every image's :class:`OcclusionResult`, as a list (see :func:`iter_occlusion_maps`,
    whose keyword parameters this takes).

    Examples
    --------
    >>> import numpy as np
    >>> from occlusion_widget.engine import occlusion_maps
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> [r.total for r in occlusion_maps(model, np.ones((3, 8, 8, 1)), patch_size=4, stride=4)]
    [4, 4, 4]
    """
    return list(iter_occlusion_maps(model, images, **options))


def _outcomes(model, images, options, cancel):
    """Each image's result or exception, in order: runs of one size packed, others solo."""
    entries = _entries(model, images, options)
    carried: Entry | None = None  # the first image of the next run
    while True:
        head = carried if carried is not None else next(entries, None)
        carried = None
        if head is None:
            return
        if head.done:  # failed validation: its error is its outcome
            yield head.outcome
            continue
        params = head.params
        assert params is not None  # an entry without parameters came with its outcome
        method = "full" if params.mode == "reveal" and params.method == "auto" else params.method
        pixels = params.image.pixels
        size = params.batch_size if not params.auto_batch else None
        h, w, c = pixels.shape
        try:
            forward = make_forward(model, params.preprocess, batch_shape=(size or 1, h, w, c))
            info = full_pass_info(method, model, forward, params.grid)
        except IMAGE_ERRORS:
            info = None  # the one-image sweep raises it again, for this image
        if info is None:
            if cancel is not None and cancel.is_set():
                return
            outcome = run_solo(model, params)
            if outcome is None:  # cancelled
                return
            yield outcome
            continue
        if size is None:
            size = packed_batch_size(h * w * c * 4, forward.accelerator, forward.backend)
        key = (pixels.shape, params.grid.tops.tobytes(), params.grid.lefts.tobytes())

        def run(first=head, key=key):
            nonlocal carried
            yield first
            for entry in entries:
                if not entry.done and _key(entry) != key:
                    carried = entry  # another size: it starts the next run
                    return
                yield entry

        for entry in run_packed(model, forward, info, run(), size, cancel):
            yield entry.outcome
        if cancel is not None and cancel.is_set():
            return


def _key(entry):
    params = entry.params
    return (params.image.pixels.shape, params.grid.tops.tobytes(), params.grid.lefts.tobytes())


def _entries(model, images, options):
    template = None  # the last fully validated image's entry
    for image in images:
        try:
            params = None if template is None else _like(template.params, image, options)
            if params is None:
                template = Entry(validate_params(image, model=model, **options))
                yield template
                continue
        except IMAGE_ERRORS as exc:
            yield Entry(None, exc)
        else:
            yield Entry(params, like=template)


def _like(template, image, options):
    """:func:`validate_params` for another image of the template's size, the grid and every
    other image-independent value reused (checking them once per image cost more than a
    small image's share of the model); None when the image needs the whole validation."""
    if options["resize"] not in (False, None):
        return None
    raw = load_image(image, value_range=options["value_range"])
    if raw.pixels.shape != template.image.pixels.shape:
        return None
    patch = template.grid.patch_size
    fill = make_baseline(raw.pixels, options["baseline"], raw.value_range, raw.integer, patch)
    return replace(template, image=raw, baseline=fill)
