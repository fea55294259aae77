"""Building occluded batches: two reused buffers, filled and preprocessed in a worker thread,
and what to do when a batch does not fit in memory."""

from __future__ import annotations

import copy
import re

import numpy as np

from .compose import roles
from .model import InputError, ModelError, is_out_of_memory

__all__ = [
    "BatchBuilder",
    "OutOfMemory",
    "failure",
    "halve",
    "prepare",
    "short_message",
    "wait",
]


class OutOfMemory(Exception):
    """A batch did not fit in memory (internal: the sweep halves its batch and retries)."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


class BatchBuilder:
    """Builds the occluded batch for items ``start..start+size`` (item 0 = unoccluded image,
    in reveal mode item 1 = the all-baseline image) into one of two alternating buffers, then
    preprocesses it."""

    def __init__(self, pixels, fill, grid, size, mode="occlude", order=None):
        # Occlude pastes the baseline's patch into the image; reveal is the dual, pasting the
        # image's patch into the baseline (compose.roles). Same geometry, the roles swapped.
        self.mode = mode
        self.pixels, self.fill = roles(pixels, fill, mode)
        self.leads = [pixels, fill] if mode == "reveal" else [pixels]
        self.total = grid.total
        # The visiting order: flat cell indices. A sweep may rewrite the part no batch has
        # been built from yet (see refinement.SweepOrder), so positions are looked up per batch.
        self.order = grid.order() if order is None else order
        self.tops, self.lefts, self.cols = grid.tops, grid.lefts, grid.cols
        ph, pw = grid.patch_size
        # Index grids for one patch, broadcast over the batch.
        self.dy = np.arange(ph)[None, :, None]
        self.dx = np.arange(pw)[None, None, :]
        self.buffers = [np.empty((size, *pixels.shape), np.float32) for _ in range(2)]
        self.turn = 0

    def for_image(self, pixels, fill):
        """A builder for another image of the same size, grid, mode and order, sharing this
        one's geometry and buffers (the multi-image sweep makes one per image)."""
        other = copy.copy(self)
        other.pixels, other.fill = roles(pixels, fill, self.mode)
        other.leads = [pixels, fill] if self.mode == "reveal" else [pixels]
        return other

    def describe(self, start, stop):
        lead = len(self.leads)
        first, last = max(start, lead) - lead, stop - lead
        names = ["the unoccluded image", "the all-baseline image"][start : min(stop, lead)]
        if last > first:
            names.append(f"positions {first}-{last - 1} of {self.total} (in visiting order)")
        return " and ".join(names)

    def cells(self, start, size):
        """The grid cell (flat index) each row of the batch of items ``start..start+size``
        holds; whole images and padding rows name the first cell (their pixels are clean or
        baseline everywhere, so any cell will do for the incremental pass)."""
        items = np.arange(start, start + size) - len(self.leads)
        return self.order[np.clip(items, 0, self.total - 1)]

    def build(self, forward, start, size):
        buffer = self.buffers[self.turn][:size]
        self.turn ^= 1
        stop = self.fill_rows(buffer, start)
        return prepare(forward, buffer, self.describe(start, stop))

    def fill_rows(self, buffer, start):
        """Write items ``start..start+len(buffer)`` (raw, not preprocessed) into ``buffer``;
        rows past the last item are padding. Returns the item after the last one written.

        The multi-image sweep (:mod:`.packed`) calls this per image on slices of its batch.
        """
        lead = len(self.leads)
        stop = min(start + len(buffer), self.total + lead)
        # Padded rows stay unoccluded copies: finite and cheap. Restoring the whole buffer (not
        # just the last patches) is needed anyway: preprocess may work in place.
        np.copyto(buffer, self.pixels)
        for item in range(start, min(stop, lead)):
            buffer[item - start] = self.leads[item]
        offset = max(start, lead) - start
        first = start + offset - lead  # index into `order` of this batch's first position
        n_pos = stop - lead - first
        if n_pos > 0:
            b = np.arange(offset, offset + n_pos)[:, None, None]
            cells = self.order[first : stop - lead]
            r = self.tops[cells // self.cols][:, None, None] + self.dy
            col = self.lefts[cells % self.cols][:, None, None] + self.dx
            buffer[b, r, col] = self.fill[r, col]
        return stop


def prepare(forward, buffer, what):
    """``forward.prepare(buffer)`` (the user's preprocess), its failures said in one line that
    names ``what`` was being scored; out-of-memory becomes :class:`OutOfMemory`."""
    try:
        return forward.prepare(buffer)
    except InputError:
        raise  # already says what to do
    except Exception as exc:
        raise failure(exc, "preprocess", what, buffer.shape) from exc


def failure(exc, who, what, shape):
    """The exception to raise for ``exc`` from ``who`` (the model, preprocess) while scoring
    ``what``: out-of-memory becomes :class:`OutOfMemory` (the sweep halves its batch),
    anything else a one-line :class:`ModelError`."""
    if is_out_of_memory(exc):
        return OutOfMemory(exc)
    return ModelError(
        f"{who} raised {type(exc).__name__}: {short_message(exc)} while scoring {what} "
        f"(batch shape {shape})"
    )


def wait(future):
    """Let a pending build finish (its errors belong to a batch that will not be used)."""
    if future is not None and not future.cancel():
        try:
            future.result()
        except Exception:  # the batch is discarded, and so is its error
            pass


def halve(size, oom, what, shape):
    if size <= 1:
        raise ModelError(
            f"out of memory even with a batch of 1 image while scoring {what} (batch shape "
            f"{shape}): {type(oom.cause).__name__}: {short_message(oom.cause)}. Use a smaller "
            f"image or model, or free memory (close other sessions using the GPU)"
        ) from oom.cause
    return size // 2


def short_message(exc, limit=400):
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


# Private names, as sweep.py used them before the split.
_OutOfMemory = OutOfMemory
_BatchBuilder = BatchBuilder
_short_message = short_message
