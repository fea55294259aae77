"""Many images of one size in shared batches: the packing and the loop behind
:func:`~occlusion_widget.engine.multi.iter_occlusion_maps`.

Each image is a run of items (its unoccluded image, in reveal mode its all-baseline image,
then its positions in grid order); the items of consecutive images are cut into batches
without regard to where an image ends, so a 32x32 image with 17 items shares a 512-image batch
with 30 others. Each image's slice of a batch is written by its own
:class:`~.batches.BatchBuilder` (the one-image sweep's), in a worker thread while the model
scores the previous batch, into two reused buffers: memory holds two batches and the images
whose items are in flight, whatever the number of images.

An image's scores become its result exactly as the one-image sweep would make them: the same
output kind (decided from the rows that sweep's first batch would hold), the same checks, the
same :func:`~.sweep.empty_result`. A batch that fails as a whole (the model or preprocess
raised) is not charged to every image in it: those images are swept again one by one, so only
an image that fails on its own gets an error.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from .batches import BatchBuilder, OutOfMemory, halve, prepare, wait
from .model import ModelError, check_scores, to_probabilities
from .params import SweepParams, auto_batch_size, lead_count
from .scoring import _score, check_finite
from .sweep import empty_result, run_sweep

__all__ = ["Entry", "run_packed", "run_solo"]

#: Errors that belong to one image (its sweep's), not to the whole run.
IMAGE_ERRORS = (ModelError, ValueError, TypeError)


class Entry:
    """One image of a multi-image sweep: its parameters, its scores so far and its outcome
    (an :class:`~.result.OcclusionResult` or the exception its sweep raised)."""

    def __init__(self, params: SweepParams | None, outcome=None, like: Entry | None = None):
        self.params = params
        self.outcome = outcome
        self.items = 0
        self.builder: BatchBuilder | None = None
        if params is not None and outcome is None:
            grid, pixels, fill = params.grid, params.image.pixels, params.baseline
            self.items = grid.total + lead_count(params.mode)
            if like is not None and like.builder is not None:  # same size, grid and mode
                self.builder = like.builder.for_image(pixels, fill)
            else:  # grid order: packed results need no coarse-to-fine preview
                order = np.arange(grid.total)
                self.builder = BatchBuilder(pixels, fill, grid, 0, params.mode, order)
        self.chunks: list[np.ndarray] = []

    @property
    def done(self) -> bool:
        return self.outcome is not None


def run_solo(model, params: SweepParams):
    """One image through the one-image sweep: its result, its error, or None when cancelled."""
    result = None
    try:
        for partial in run_sweep(model, params):
            result = partial
    except IMAGE_ERRORS as exc:
        return exc
    return result if result is not None and result.complete else None


def run_packed(model, forward, info, entries, batch_size, cancel=None):
    """Sweep ``entries`` (an iterator of :class:`Entry`, one size and grid) in shared batches;
    yields each entry, in order, once its outcome is set. Stops early when ``cancel`` is set.
    """
    window: deque[Entry] = deque()  # entries pulled and not yet yielded, in order
    source = iter(entries)
    exhausted = False
    cursor = [0, 0]  # (index in window, item) where the next batch starts

    def pull():
        nonlocal exhausted
        try:
            window.append(next(source))
        except StopIteration:
            exhausted = True

    def plan(size):
        """The next batch: ``[(entry, first item, stop)]``, advancing the cursor."""
        segments, room = [], size
        while room:
            if cursor[0] == len(window):
                if exhausted:
                    break
                pull()
                continue
            entry = window[cursor[0]]
            if entry.done or cursor[1] >= entry.items:  # finished, failed, or no items
                cursor[0], cursor[1] = cursor[0] + 1, 0
                continue
            take = min(room, entry.items - cursor[1])
            segments.append((entry, cursor[1], cursor[1] + take))
            room -= take
            cursor[1] += take
        return segments

    buffers: list[np.ndarray] = []
    turn = [0]

    def build(segments, size):
        first = segments[0][0].params.image.pixels
        if not buffers:
            buffers.extend(np.empty((size, *first.shape), np.float32) for _ in range(2))
        buffer = buffers[turn[0]][:size]
        turn[0] ^= 1
        row = 0
        for entry, start, stop in segments:
            entry.builder.fill_rows(buffer[row : row + stop - start], start)
            row += stop - start
        # Padding rows repeat the last image's first item: finite, and every call one shape.
        segments[-1][0].builder.fill_rows(buffer[row:], segments[-1][0].items)
        return prepare(forward, buffer, describe(segments))

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="occlusion-packed")
    pending: Future | None = None
    size = batch_size
    try:
        current = plan(size)
        if current:
            pending = pool.submit(build, current, size)
        while current:
            if cancel is not None and cancel.is_set():
                return
            what = describe(current)
            try:
                if pending is None:
                    pending = pool.submit(build, current, size)
                x = pending.result()
                pending = None
                following = plan(size)
                if following:
                    pending = pool.submit(build, following, size)
                scores = _score(forward, x, what, 0)
            except OutOfMemory as oom:
                wait(pending)
                pending = None
                size = halve(size, oom, what, (size, *x_shape(current)))
                rewind(window, cursor, current)
                current = plan(size)
                continue
            except IMAGE_ERRORS:
                # The whole batch failed: sweep its images (and those started) one by one.
                wait(pending)
                pending = None
                while window:
                    entry = window.popleft()
                    if not entry.done:
                        assert entry.params is not None  # entries without them are done
                        entry.outcome = run_solo(model, entry.params)
                        if entry.outcome is None:  # cancelled
                            return
                    yield entry
                cursor[0], cursor[1] = 0, 0
                current = plan(size)
                continue
            record(current, scores, x, info, forward)
            while window and window[0].done:
                yield window.popleft()
                # An image that failed part-way may be where the cursor stands: skip its rest.
                cursor[:] = [cursor[0] - 1, cursor[1]] if cursor[0] else [0, 0]
            current = following
        while window:  # images without items (their outcome came with them)
            yield window.popleft()
    finally:
        wait(pending)
        pool.shutdown(wait=True)


def rewind(window, cursor, segments):
    """Move the cursor back to the start of ``segments`` (a batch to cut again)."""
    index = {id(entry): i for i, entry in enumerate(window)}
    for entry, start, _ in segments:
        if id(entry) in index:
            cursor[0], cursor[1] = index[id(entry)], start
            return


def x_shape(segments):
    return segments[0][0].params.image.pixels.shape


def describe(segments):
    """What a batch holds, for error messages: how many images, and the first one's items."""
    entry, start, stop = segments[0]
    first = entry.builder.describe(start, stop)
    if len(segments) == 1:
        return f"one image's {first}"
    return f"{len(segments)} images packed in one batch (the first's {first})"


def record(segments, scores, x, info, forward):
    """Hand each image its rows of the batch; finish the images whose last item was in it."""
    row = 0
    for entry, start, stop in segments:
        n = stop - start
        rows = scores[row : row + n]
        if not entry.done:
            if not np.isfinite(rows).all():
                try:
                    what = entry.builder.describe(start, stop)
                    check_finite(rows, x[row : row + n], what, entry.params.image.value_range)
                except ValueError as exc:
                    entry.outcome = exc
                    row += n
                    continue
            entry.chunks.append(rows)
            if stop == entry.items:
                entry.outcome = finish(entry, info, forward)
        row += n


def first_batch(params: SweepParams, forward) -> int:
    """How many items the one-image sweep's first batch holds (``output="auto"`` decides the
    score kind from them)."""
    if not params.auto_batch:
        return params.batch_size
    h, w, c = params.image.pixels.shape
    n = params.grid.total + lead_count(params.mode)
    return auto_batch_size(n, h * w * c * 4, forward.accelerator, forward.backend)


def finish(entry, info, forward):
    """The image's :class:`~.result.OcclusionResult` from its raw scores, or the error the
    one-image sweep would raise for them."""
    params = entry.params
    scores = np.concatenate(entry.chunks) if len(entry.chunks) > 1 else entry.chunks[0]
    entry.chunks = []
    kind = params.output
    if kind == "auto":  # decided from the rows the one-image sweep's first batch holds
        kind = to_probabilities(scores[: first_batch(params, forward)], kind)[1]
    try:
        check_scores(scores, kind, "one of its batches", params.output == "auto")
    except ValueError as exc:
        return exc
    probs, kind = to_probabilities(scores, kind)
    lead = lead_count(params.mode)
    result = empty_result(params, probs[0], kind, dict(info))
    if lead == 2:
        result.baseline_probabilities[:] = probs[1]
    result.probabilities.reshape(-1, result.num_classes)[:] = probs[lead:]
    result.computed[:] = True
    return result
