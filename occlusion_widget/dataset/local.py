"""The local backend: images through the streaming engine in this process, the positions of
several images in each model call (:mod:`.chunks`).

Memory stays bounded by a chunk of images plus the rows not yet flushed: each image's arrays
go to the store as soon as it is done, its row follows in small batches.
"""

from __future__ import annotations

import time

from .chunks import run_chunks

__all__ = ["RowWriter", "run_local"]

#: Rows are flushed to a new Parquet part after this many images or this many seconds,
#: whichever comes first (and always on cancel, error or the end of the run).
FLUSH_EVERY_IMAGES = 64
FLUSH_EVERY_SECONDS = 30.0


class RowWriter:
    """Buffers table rows and appends them to the store in parts; reports progress.

    Examples
    --------
    >>> from occlusion_widget.dataset.store import MemoryStore
    >>> store = MemoryStore()
    >>> with RowWriter(store, total=1, progress=False) as rows:
    ...     rows.add({"id": "0", "key": "k", "status": "done", "error": ""})
    >>> list(store.table()["id"])
    ['0']
    """

    def __init__(self, store, total, progress, start=0, claims=None):
        self.store = store
        self.claims = claims  # told of each image whose row is in
        self.pending = []
        self.last_flush = time.monotonic()
        self.done = start
        self.total = total
        self.errors = []
        self.callback = None
        self.bar = None
        if callable(progress) and not isinstance(progress, bool):
            self.callback = progress
        elif progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=start, desc="dataset", unit="img")

    def add(self, row, flush=True):
        self.pending.append(row)
        if self.claims is not None:
            self.claims.finished(row["key"])
            if not row.get("digest"):  # a row from a backend that did not carry it
                row["digest"] = self.claims.digests.get(row["key"], "")
        if row.get("status") == "error":
            self.errors.append((row["id"], row["error"]))
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        if self.callback is not None:
            self.callback(self.done, self.total)
        if flush and (
            len(self.pending) >= FLUSH_EVERY_IMAGES
            or time.monotonic() - self.last_flush > FLUSH_EVERY_SECONDS
        ):
            self.flush()

    def add_block(self, rows):
        """The rows of a block of images, appended together (one table part).

        Examples
        --------
        >>> from occlusion_widget.dataset.store import MemoryStore
        >>> with RowWriter(MemoryStore(), total=2, progress=False) as rows:
        ...     rows.add_block([{"id": str(i), "key": str(i), "status": "done"} for i in "01"])
        ...     rows.pending
        []
        """
        for row in rows:
            self.add(row, flush=False)
        self.flush()

    def skip(self):
        """An image found done meanwhile (by another writer): counted, no row."""
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def flush(self):
        if self.pending:
            self.store.append_rows(self.pending)
            self.pending = []
        self.last_flush = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # Always, also on cancel, KeyboardInterrupt or an error: what is done stays done.
        self.flush()
        if self.bar is not None:
            self.bar.close()
        return False


def run_local(model, params, items, store, writer, image_shape=None, cancel=None):
    """Sweep ``items`` into ``store``; returns the sweeper (for its image shape).

    The positions of consecutive images share each model call (:mod:`.chunks`); the first
    image that sweeps fixes the number of classes and the store records the parameters then.
    """
    return run_chunks(model, params, items, store, writer, image_shape, cancel)
