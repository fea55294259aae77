"""Building occluded batches: two reused buffers, filled and preprocessed in a worker thread,
and what to do when a batch does not fit in memory."""

from __future__ import annotations

import re

import numpy as np

from .model import InputShapeError, ModelError, is_out_of_memory

__all__ = ["BatchBuilder", "OutOfMemory", "halve", "short_message", "wait"]


class OutOfMemory(Exception):
    """A batch did not fit in memory (internal: the sweep halves its batch and retries)."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


class BatchBuilder:
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
                raise OutOfMemory(exc) from exc
            raise ModelError(
                f"preprocess raised {type(exc).__name__}: {short_message(exc)} while "
                f"scoring {self.describe(start, stop)} (batch shape {buffer.shape})"
            ) from exc


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
