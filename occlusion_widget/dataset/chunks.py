"""The local backend's loop: images read and checked in chunks, swept with their positions
packed across images (:func:`~occlusion_widget.engine.multi.iter_occlusion_maps`), written one
image at a time through the store.

A 32x32 image has 17 positions at patch 8, stride 8; swept alone it is one small batch, and a
dataset of them ran at 1/44 of the model's batched speed. Here the engine fills every model
call with the positions of consecutive images, and each image still gets its own row: a file
that does not decode, an image of another size or an image whose scores are NaN is an error
row, never the end of the sweep.
"""

from __future__ import annotations

import time
from collections import deque
from contextlib import closing
from itertools import islice

import numpy as np

from ..engine.multi import iter_occlusion_maps
from .summaries import summarize_many
from .sweeper import ImageSweeper, finish_row, image_arrays

__all__ = ["CHUNK_IMAGES", "run_chunks"]

#: Images read and checked at a time (the engine reads them as its batches need them).
CHUNK_IMAGES = 256
#: Swept images summarised together (:func:`.summaries.summarize_many`) and then written:
#: this many, or what was swept in this many seconds (large images: one at a time).
GROUP_IMAGES = 64
GROUP_SECONDS = 0.5


def run_chunks(model, params, items, store, writer, image_shape=None, cancel=None):
    """Sweep ``items`` into ``store`` in packed batches; returns the sweeper (its image shape).

    The first image that sweeps fixes the number of classes: the store records the parameters
    then (or checks them against the ones it holds). An engine error before any image has
    swept is raised (a broken model or bad parameters must not fill the table with one error
    per image); after that it is the image's error row.

    Examples
    --------
    >>> from occlusion_widget.dataset.local import RowWriter
    >>> from occlusion_widget.dataset.sources import Item
    >>> from occlusion_widget.dataset.store import MemoryStore
    >>> from occlusion_widget.dataset.sweeper import DatasetParams
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> items = [Item(str(i), np.ones((8, 8)), "", -1) for i in range(3)]
    >>> items.append(Item("3", np.ones((9, 8)), "", -1))
    >>> store = MemoryStore()
    >>> with RowWriter(store, total=4, progress=False) as writer:
    ...     _ = run_chunks(model, DatasetParams(patch_size=4, stride=4), items, store, writer)
    >>> store.table()["status"].tolist()
    ['done', 'done', 'done', 'error']
    """
    sweeper = ImageSweeper(model, params, image_shape)
    queue: deque = deque()  # (item, pixels or None, problem or None, seconds), in order

    def decoded():
        iterator = iter(items)
        while chunk := list(islice(iterator, CHUNK_IMAGES)):
            for item in chunk:
                start = time.perf_counter()
                pixels, problem = sweeper.decode(item)
                queue.append((item, pixels, problem, time.perf_counter() - start))
                if problem is None:
                    yield pixels

    p = params
    maps = iter_occlusion_maps(model, decoded(), cancel=cancel, errors="return", **p.sweep_kwargs())
    state = {"checked": False, "swept": 0, "last": time.perf_counter()}
    state["flushed"] = state["last"]
    # (item, seconds, pixels, result or error message), in order, not yet written
    group: deque = deque()

    def cancelled():
        return cancel is not None and cancel.is_set()

    def take_bad():
        while queue and queue[0][2] is not None:
            item, _, problem, seconds = queue.popleft()
            group.append((item, seconds, None, problem))

    def flush():
        done = [(item, result) for item, _, _, result in group if not isinstance(result, str)]
        summaries = iter(())
        if done:
            first = done[0][1]
            summaries = iter(
                summarize_many(
                    np.stack([result.probabilities for _, result in done]),
                    np.stack([result.base_probabilities for _, result in done]),
                    [int(item.label) for item, _ in done],
                    first.tops,
                    first.lefts,
                )
            )
        while group and not cancelled():
            # Taken off the group before it is written: a write that raises is not repeated
            # by the flush that follows the error. An image left unwritten (cancel, error)
            # keeps no row: its claim is released when the sweep's claims close.
            item, seconds, pixels, outcome = group.popleft()
            if isinstance(outcome, str):
                writer.add(finish_row(item, seconds, error=outcome))
                continue
            arrays = image_arrays(p, outcome, pixels)
            row = finish_row(item, seconds, next(summaries), arrays)
            if not state["checked"]:
                k = len(arrays["base_probabilities"])
                store.check_params(p.describe(sweeper.image_shape), k, p.kept_classes(k))
                state["checked"] = True
            try:
                store.write_arrays(row["key"], arrays)
            except ValueError as exc:  # maps that do not fit the store's (another dtype)
                writer.add(finish_row(item, seconds, error=f"not stored: {exc}"))
                continue
            writer.add(row)

    try:
        with closing(maps):
            for outcome in maps:
                take_bad()
                item, pixels, _, seconds = queue.popleft()
                now = time.perf_counter()
                seconds += now - state["last"]
                state["last"] = now
                if isinstance(outcome, BaseException):
                    if state["swept"] == 0:
                        raise outcome
                    group.append((item, seconds, None, f"{type(outcome).__name__}: {outcome}"))
                else:
                    state["swept"] += 1
                    sweeper.swept += 1
                    group.append((item, seconds, pixels, outcome))
                if len(group) >= GROUP_IMAGES or now - state["flushed"] > GROUP_SECONDS:
                    flush()
                    state["flushed"] = now
                if cancelled():
                    break
            else:
                take_bad()  # bad images after the last good one
    finally:
        flush()  # what is done stays done, also when the sweep stops on an error
    return sweeper
