"""The gallery of a dataset sweep: a page of thumbnails to sort and filter, and the image you
click opened in the single-image widget, from the store, with nothing recomputed.

Sorting, filtering and paging happen here, on the table held in memory as numpy columns
(``dataset/gallery_table.py``: loaded once, sort orders kept, rows appended to the store
taken in as they come); only the current page travels to the browser: its rows as JSON and its
thumbnails as one binary uint8 array. A page's missing thumbnails are drawn from one read of
their maps and kept (``dataset/thumbnails.py``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import ipywidgets
import numpy as np

from .. import labels as label_names
from ..dataset.gallery_table import GalleryTable
from ..dataset.query import page_bounds
from ..dataset.thumbnails import DEFAULT_MAX_SIDE, ThumbnailCache, read_results, stack
from ..session.checks import describe_error
from .gallery_grid import MAX_PAGE_SIZE, GalleryGrid, image_caption
from .widget import OcclusionWidget

__all__ = ["MAX_PAGE_SIZE", "GalleryGrid", "GalleryWidget"]


def _forward(name: str, doc: str) -> property:
    def get(self: GalleryWidget) -> Any:
        return getattr(self.grid, name)

    def set_(self: GalleryWidget, value: Any) -> None:
        with self._open():  # the write and the page it brings, one thread at a time
            setattr(self.grid, name, value)

    return property(get, set_, doc=doc)


class GalleryWidget(ipywidgets.VBox):
    """Browse a dataset sweep: thumbnails with their maps, sorted and filtered; click one to
    open it in :class:`OcclusionWidget`, rebuilt from the store (the model is never called to
    show it; with the dataset's model known, its Recompute and Probe run it).

    Parameters
    ----------
    dataset : OcclusionDataset
        From :func:`sweep_dataset` or :func:`open_dataset`.
    labels : list of str, dict or str, optional
        Class names; the dataset's folder classes, else ``"class i"``.
    page_size : int, default 24
        Thumbnails per page (at most 200).
    sort_by : {"flip_fraction", "max_drop", "confidence", "order"}
    descending : bool, default True
    filters : dict, optional
        ``true``, ``predicted``, ``flips_to`` (class indices or names, or None) and
        ``misclassified`` (bool); see ``occlusion_widget.dataset.query.FILTERS``.
    max_side : int, default 64
        Longest side of a thumbnail in pixels.

    Attributes
    ----------
    grid : GalleryGrid
        The page of thumbnails and its controls (the synced traits).
    detail : ipywidgets.Box
        Where the clicked image's widget appears.
    opened : OcclusionWidget or None
        That widget.
    thumbnails : ThumbnailCache
        The thumbnails made so far (``thumbnails.made`` counts them).
    table : GalleryTable
        The table in memory that sorts, filters and pages; it follows rows appended to the
        store (looked for in a thread after an action, at most every :attr:`follow_seconds`,
        and shown from the next action; at once with :meth:`refresh`).

    Its methods and settable attributes may be used from several threads: they take turns.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> ds = ow.sweep_dataset(model, [np.eye(8), np.ones((8, 8))], patch_size=4, stride=4,
    ...                       progress=False)
    >>> g = ow.GalleryWidget(ds, labels=["bright", "dark"], sort_by="confidence")
    >>> [i["id"] for i in g.items], g.grid.thumbnails.shape
    (['1', '0'], (2, 8, 8, 4))
    >>> g.open_image("0").result.rows
    2
    """

    page = _forward("page", "The page shown, from 0.")
    page_size = _forward("page_size", "Thumbnails per page.")
    sort_by = _forward("sort_by", "What the images are sorted by.")
    descending = _forward("descending", "Largest first.")
    filters = _forward("filters", "Which images are shown (see the class docstring).")
    selected = _forward("selected", "The id of the opened image, or None.")
    items = _forward("items", "The current page's rows (plain dicts).")
    total_matching = _forward("total_matching", "How many images pass the filters.")

    def __init__(
        self,
        dataset: Any,
        *,
        labels: Any = None,
        page_size: int = 24,
        sort_by: str = "flip_fraction",
        descending: bool = True,
        filters: dict | None = None,
        max_side: int = DEFAULT_MAX_SIDE,
    ) -> None:
        if not (hasattr(dataset, "table") and hasattr(dataset, "result")):
            advice = (
                "; to show one result use ow.OcclusionWidget.from_result(result)"
                if hasattr(dataset, "probabilities")
                else ""
            )
            raise TypeError(
                "GalleryWidget shows a dataset sweep: pass ow.sweep_dataset(...) or "
                f"ow.open_dataset(store); got {type(dataset).__name__}{advice}"
            )
        self.dataset = dataset
        # Held while a public call or the browser's write changes the page or the opened
        # image: calls from several threads take turns, and what is opened is what is selected.
        self._lock = threading.RLock()
        self._closed = False
        self._failure: Exception | None = None  # why the last image failed to open
        self.thumbnails = ThumbnailCache(dataset, max_side)
        self.opened: OcclusionWidget | None = None
        self._rows: np.ndarray | None = None
        store = getattr(dataset, "store", None)
        self.table = GalleryTable(dataset.table, store, getattr(dataset, "table_version", None))
        self._checked = time.monotonic()
        self._pending = None  # a change the look in the background found, for the next action
        self._looking: threading.Thread | None = None
        names = labels if labels is not None else getattr(dataset, "folder_classes", None)
        self.grid = GalleryGrid(
            labels=label_names.as_list(names, int(dataset.num_classes)),
            page_size=page_size,
            sort_by=sort_by,
            descending=descending,
            total=self.table.total,
        )
        self.grid.filters = filters or {}
        self.detail = ipywidgets.Box(layout=ipywidgets.Layout(width="100%"))
        super().__init__(children=[self.grid, self.detail])
        self._refresh()
        self.grid.observe(self._on_query, names=["sort_by", "descending", "filters"])
        self.grid.observe(self._on_page, names=["page", "page_size"])
        self.grid.observe(self._on_selected, names=["selected"])
        self._look(first=True)

    #: Seconds between two looks at the store for new rows (a listing of its table parts).
    follow_seconds = 1.0

    # -- reacting to the grid ------------------------------------------------------------------

    def _on_query(self, change: Any) -> None:
        with self._lock:
            self._rows = None
            if self.grid.page != 0:
                self.grid.page = 0  # the page observer refreshes
            else:
                self._refresh()

    def _on_page(self, change: Any) -> None:
        with self._lock:
            self._refresh()

    def _on_selected(self, change: Any) -> None:
        with self._lock:  # the selection now, not the one this change brought: the last wins
            self._show(self.grid.selected)

    def _open(self) -> threading.RLock:
        """The lock, once it is known that the gallery is not closed."""
        if self._closed:
            raise RuntimeError(
                "this gallery is closed: make a new one, ow.GalleryWidget(dataset), to browse "
                "the dataset again"
            )
        return self._lock

    def _follow(self) -> None:
        """Take in what the last look at the store found (rows appended since)."""
        change, self._pending = self._pending, None
        self._take(change)

    def _look(self, first: bool = False) -> None:
        """After an action, at most every ``follow_seconds``: look at the store for new rows
        in a thread (listing a large store's table takes longer than an action may), for the
        next action to take in. The first look also computes every sort order."""
        now = time.monotonic()
        busy = self._looking is not None and self._looking.is_alive()
        if busy or (not first and now - self._checked < self.follow_seconds):
            return
        self._checked = now

        def look() -> None:
            try:
                if first:
                    self.table.warm()
                self._pending = self.table.fetch()
            except Exception:  # the next look tries again; refresh() raises
                pass

        self._looking = threading.Thread(target=look, name="gallery-follow", daemon=True)
        self._looking.start()

    def _read(self, rows: list) -> list:
        if hasattr(self.dataset, "result_from_arrays"):
            return read_results(self.dataset, [self.table.row(row) for row in rows])
        return [self.dataset.result(str(self.table.columns["id"][row])) for row in rows]

    def _refresh(self) -> None:
        """Send the current page: its rows and its thumbnails, nothing else."""
        grid = self.grid
        try:
            self._follow()
            if self._rows is None:
                self._rows = self.table.query(grid.sort_by, grid.descending, grid.filters)
            page, start, stop = page_bounds(len(self._rows), grid.page, grid.page_size)
            shown = [int(row) for row in self._rows[start:stop]]
            items = [dict(self.table.item(row), row=row) for row in shown]
            pictures = self.thumbnails.page(
                items, lambda missing: self._read([entry["row"] for entry in missing])
            )
            for entry, picture in zip(items, pictures, strict=True):
                del entry["row"]
                entry.update(height=int(picture.shape[0]), width=int(picture.shape[1]))
            with grid.hold_sync():
                grid.set_trait("items", items)
                grid.set_trait("thumbnails", stack(pictures))
                grid.set_trait("total_matching", len(self._rows))
                grid.set_trait("error", "")
                if page != grid.page:
                    grid.page = page  # past the last page: show the last (refreshes once more)
        except Exception as exc:  # the grid is the one place the browser can show it
            grid.set_trait("error", describe_error(exc))
        self._look()

    def _position(self, image_id: str) -> int | None:
        """The table row of a swept image id (the store is looked at again for an id not
        known yet); None when the table here cannot tell (unknown, repeated or skipped)."""
        for _ in range(2):
            try:
                row = self.table.position(image_id)
            except KeyError:
                if not self._take(self.table.fetch()):
                    return None
                continue
            return row if self.table.columns["done"][row] else None
        return None

    def _result(self, image_id: str):
        """``(result, row)`` of one image, read from the store once."""
        row = self._position(image_id)
        if row is None:
            # Not in the table held here (or not swept): the dataset says why, or reads it.
            return self.dataset.result(image_id), None
        return self._read([row])[0], row

    def _show(self, image_id: str | None) -> None:
        previous, self.opened = self.opened, None
        if previous is not None:
            previous.close()
        self.detail.children = ()
        if image_id is None:
            if self.grid.error.startswith("could not open image"):
                self.grid.set_trait("error", "")  # that image is no longer asked for
            return
        try:
            result, row = self._result(image_id)
            names = list(self.grid.labels)
            entry = self.table.item(row) if row is not None else {"id": image_id}
            caption = image_caption(entry, names)
            model = getattr(self.dataset, "model", None)
            if model is None:
                self.opened = OcclusionWidget.from_result(result, labels=names, caption=caption)
            else:
                # The store keeps probabilities, not how the model's scores were read: the
                # sweep's `output` decides for a recompute or a probe.
                result.output_kind = ""
                self.opened = OcclusionWidget.from_result(
                    result,
                    labels=names,
                    caption=caption,
                    model=model,
                    preprocess=self.dataset.preprocess,
                    output=self.dataset.params.get("output", "auto"),
                )
        except Exception as exc:
            self._failure = exc  # open_image() raises it, its type kept (StoreCorruptError...)
            self.grid.set_trait(
                "error", f"could not open image {image_id!r}: {describe_error(exc)}"
            )
            return
        self.grid.set_trait("error", "")
        self.detail.children = (self.opened,)

    # -- public API ----------------------------------------------------------------------------

    def open_image(self, image_id: str) -> OcclusionWidget:
        """Open one image in the single-image widget below the grid (as clicking it does).

        Parameters
        ----------
        image_id : str
            An id of ``dataset.table`` (an image swept without error).

        Returns
        -------
        OcclusionWidget
            Built with :meth:`OcclusionWidget.from_result` from ``dataset.result(image_id)``.

        Raises
        ------
        KeyError, ValueError, StoreCorruptError, ...
            What reading or showing the image raised (the grid's error line says it too).

        Examples
        --------
        >>> opened = g.open_image(ds.fragile(1)["id"].iloc[0])  # the image that flips most
        >>> opened.labels[opened.target], opened is g.opened
        ('square', True)
        """
        image_id = str(image_id)
        with self._open():
            if self.grid.selected == image_id and self.opened is not None:
                return self.opened
            if self._position(image_id) is None:
                self.dataset.result(image_id)  # raises KeyError / ValueError with the reason
            self._failure = None
            self.grid.selected = image_id
            if self.opened is None:
                if self._failure is not None:
                    raise self._failure  # what the browser's error line says, as its own type
                raise RuntimeError(self.grid.error or f"could not open image {image_id!r}")
            return self.opened

    def refresh(self) -> None:
        """Take in the rows appended to the store since the table was read and show the page
        again (without it, rows a look after an action found show from the next action).

        Examples
        --------
        >>> g.refresh()
        """
        with self._open():
            if self._looking is not None:
                self._looking.join()
            self._pending = None
            self._take(self.table.fetch())
            self._refresh()

    def _take(self, change) -> bool:
        if not self.table.apply(change):
            return False
        self._rows = None
        self.grid.set_trait("total", self.table.total)
        return True

    def close(self) -> None:
        """Close the grid, the opened widget and this box; from then on :meth:`open_image`,
        :meth:`refresh` and setting ``page``, ``sort_by``, ... raise ``RuntimeError``.

        Examples
        --------
        >>> g.close()
        >>> g.comm is None and g.grid.comm is None
        True
        """
        # getattr: ipywidgets calls close() from __del__, even when __init__ raised early.
        self._closed = True
        for part in (getattr(self, "opened", None), getattr(self, "grid", None)):
            if part is not None:
                part.close()
        super().close()
