"""The result of a dataset sweep: the table, the errors, one image's full result, confusion."""

from __future__ import annotations

import numbers

import numpy as np

from ..engine import OcclusionResult, load_image, make_baseline, make_grid
from ..engine.baselines import describe_baseline
from .confusion import confusion_table
from .integrity import verify_arrays
from .store import expand

__all__ = ["OcclusionDataset"]


class OcclusionDataset:
    """A dataset sweep read from its store (from :func:`sweep_dataset` or
    :func:`open_dataset`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per image (the columns are described in
        ``occlusion_widget.dataset.summary.COLUMNS``), in the order the images were done.
        Read when the dataset was opened; a :class:`GalleryWidget` follows rows added later.
    table_version : object
        The store's table version when :attr:`table` was read.
    params : dict
        The sweep parameters recorded in the store.
    num_classes : int
        Classes of the model.
    kept_classes : int
        Classes per position kept in the stored maps (all of them, or the top-k).
    model, preprocess
        The model that made the maps and its preprocess, when known (from a live
        :func:`sweep_dataset`, or given to :func:`open_dataset`): the gallery's widgets can
        then recompute and probe. None otherwise.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> ds = ow.sweep_dataset(model, [np.ones((8, 8)), "missing.png"], patch_size=4,
    ...                       stride=4, progress=False)
    >>> len(ds), list(ds.errors["id"])
    (2, ['1'])
    >>> ds.result(0).rows
    2
    """

    def __init__(self, store, model=None, preprocess=None):
        self.store = store
        self.model, self.preprocess = model, preprocess
        meta = store.params_meta()
        self.params = dict(meta.get("params", {}))
        self.num_classes = int(meta.get("num_classes", 0))
        self.kept_classes = int(meta.get("kept_classes", 0))
        self.folder_classes = meta.get("folder_classes")
        # Taken before reading: rows appended meanwhile count as new to a gallery following it.
        self.table_version = store.table_version()
        self.table = store.table()

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        done = int((self.table["status"] == "done").sum())
        return (
            f"OcclusionDataset({done} images swept, {len(self.table) - done} errors, "
            f"{self.num_classes} classes, store {self.store.location})"
        )

    @property
    def errors(self):
        """The images that were skipped: ``id``, ``path`` and ``error``."""
        bad = self.table[self.table["status"] == "error"]
        return bad[["id", "path", "error"]].reset_index(drop=True)

    def fragile(self, n=10):
        """The ``n`` images whose prediction flips at the most positions (ties: larger drop).

        Examples
        --------
        >>> ds.fragile(2)[["id", "flip_fraction", "flip_class"]].round(3)
          id  flip_fraction  flip_class
        0  0          0.333           2
        1  1          0.000          -1
        """
        done = self.table[self.table["status"] == "done"]
        return done.sort_values(["flip_fraction", "max_drop"], ascending=False).head(n)

    def _row(self, which):
        table = self.table
        if isinstance(which, numbers.Integral) and not isinstance(which, bool):
            if not -len(table) <= int(which) < len(table):
                raise IndexError(f"image {which} is out of range: the table has {len(table)} rows")
            return table.iloc[int(which)]
        if isinstance(which, str):
            match = table[table["id"] == which]
            if match.empty:
                raise KeyError(f"no image with id {which!r} in the table")
            if len(match) > 1:  # a stream whose order changed between runs: ids are positions
                raise KeyError(
                    f"the id {which!r} names {len(match)} images in the table (positions of a "
                    f"stream whose order changed between runs); give a row number instead"
                )
            return match.iloc[0]
        raise TypeError(f"give a row number (int) or an image id (str); got {which!r}")

    def result(self, which) -> OcclusionResult:
        """One image's :class:`OcclusionResult`, rebuilt from the store without the model.

        Parameters
        ----------
        which : int or str
            A row number of :attr:`table` or an image id.

        Returns
        -------
        OcclusionResult
            The probabilities are the stored float16 values; when the store keeps only the
            top-k classes per position, every other class reads as 0 there.

        Examples
        --------
        >>> import occlusion_widget as ow
        >>> shown = ow.OcclusionWidget.from_result(ds.result(0), labels=["sky", "square", "other"])
        >>> shown.labels[shown.target], shown.result.rows
        ('square', 3)
        """
        row = self._done_row(which)
        return self._rebuild(row, self.store.read_arrays(row["key"]))

    def results(self, which) -> list:
        """Several images' results at once, their maps read chunk by chunk (one read per
        field and chunk of the store, not per image: what a page of a gallery needs).

        Parameters
        ----------
        which : sequence of int or str
            Row numbers of :attr:`table` or image ids.

        Returns
        -------
        list of OcclusionResult
            In the order given (see :meth:`result`).

        Examples
        --------
        >>> import occlusion_widget as ow
        >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
        >>> two = ow.sweep_dataset(model, [np.ones((8, 8))] * 2, patch_size=4, stride=4,
        ...                        progress=False)
        >>> [r.rows for r in two.results([0, "1"])]
        [2, 2]
        """
        rows = [self._done_row(w) for w in which]
        self.store.require_meta()
        found = self.store.read_many([row["key"] for row in rows])
        return [self._rebuild(row, found[row["key"]]) for row in rows]

    def result_from_arrays(self, row, arrays: dict) -> OcclusionResult:
        """One image's result from its table ``row`` (``id``, ``key``, ``checksum``) and its
        stored ``arrays`` (read already, e.g. with ``store.read_many`` for a page of rows the
        caller holds); the checksum is verified.

        Examples
        --------
        >>> import occlusion_widget as ow
        >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
        >>> ds = ow.sweep_dataset(model, [np.ones((8, 8))], patch_size=4, stride=4,
        ...                       progress=False)
        >>> row = ds.table.iloc[0]
        >>> ds.result_from_arrays(row, ds.store.read_arrays(row["key"])).rows
        2
        """
        return self._rebuild(row, arrays)

    def _done_row(self, which):
        row = self._row(which)
        if row["status"] != "done":
            raise ValueError(f"image {row['id']!r} was skipped: {row['error']}")
        return row

    def _rebuild(self, row, arrays) -> OcclusionResult:
        self.store.require_meta()  # names what is lost, before any KeyError could

        def where() -> str:
            return f"the maps of image {row['id']!r} ({self.store.where(row['key'], True)})"

        verify_arrays(arrays, str(row.get("checksum") or ""), where)
        options = self.params.get("options", {})
        raw = load_image(np.asarray(arrays["image"]))
        value_range = tuple(options["value_range"]) if options.get("value_range") else None
        value_range = value_range or raw.value_range
        grid = make_grid(raw.pixels.shape[:2], self.params["patch_size"], self.params["stride"])
        spec = self.params["baseline"]
        if isinstance(spec, str) and spec.startswith("array["):
            spec = self.store.read_arrays("_baseline")["baseline"]
        fill = make_baseline(raw.pixels, spec, value_range, raw.integer, grid.patch_size)
        k = len(arrays["base_probabilities"])
        probabilities = expand(arrays, k)
        return OcclusionResult(
            probabilities=probabilities,
            base_probabilities=np.asarray(arrays["base_probabilities"], np.float32),
            computed=np.ones(probabilities.shape[:2], bool),
            image=raw.pixels,
            baseline=fill,
            value_range=value_range,
            patch_size=grid.patch_size,
            stride=grid.stride,
            tops=grid.tops,
            lefts=grid.lefts,
            baseline_name=describe_baseline(spec),
            output_kind="probabilities",
        )

    def confusion(self, by="true", flips_only=True, labels=None):
        """Confusion under occlusion as a table: per true (or predicted) class, which classes
        win when patches are hidden, at how many positions and in how many images.

        Parameters
        ----------
        by : {"true", "predicted"}, default "true"
        flips_only : bool, default True
            Count only positions where the prediction changed.
        labels : list of str, optional
            Class names (adds ``group_name`` and ``winner_name``); defaults to the folder's
            class sub-folders when the dataset came from one.

        Returns
        -------
        pandas.DataFrame
            See :func:`~occlusion_widget.dataset.confusion.confusion_table`.

        Examples
        --------
        >>> ds.confusion(labels=["sky", "square", "other"]).iloc[0][["group_name", "winner_name"]]
        group_name     square
        winner_name     other
        Name: 0, dtype: object
        """
        names = labels if labels is not None else self.folder_classes
        return confusion_table(self.table, by, flips_only, names)

    def plot_confusion(self, by="true", flips_only=True, labels=None, ax=None):
        """The confusion under occlusion as a matplotlib heat map.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> fig = ds.plot_confusion(labels=["sky", "square", "other"])
        >>> fig.axes[0].get_title()
        'Confusion under occlusion (by true class, flipped positions)'
        """
        from ..plot.dataset import plot_confusion

        names = labels if labels is not None else self.folder_classes
        kind = "true class" if by == "true" else "predicted class"
        what = "flipped positions" if flips_only else "all positions"
        return plot_confusion(
            self.confusion(by, flips_only),
            class_names=names,
            num_classes=self.num_classes if self.num_classes <= 20 else None,
            ax=ax,
            title=f"Confusion under occlusion (by {kind}, {what})",
        )
