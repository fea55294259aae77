"""Compare sweep settings by how faithful their maps are: "compare fills, trust what they agree on".

Each setting (baseline x patch size) gets its own sweep and its own map; every map is then judged
by the same yardstick, its deletion curve with one shared fill (:func:`fidelity`), so the areas
can be ranked: the lower the deletion area, the faster removing what the map points at destroys
the model's belief, the more the map found what the model uses.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, fields

import numpy as np

from .baselines import describe_baseline
from .fidelity import DEFAULT_STEPS, _resolve_baseline, fidelity
from .sweep import occlusion_map

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True)
class Comparison:
    """Sweeps of one image under several settings, ranked by deletion AUC (best first).

    Attributes
    ----------
    rows : list of dict
        One row per setting, best first: ``rank``, ``baseline``, ``patch_size``, ``stride``,
        ``deletion_auc``, ``insertion_auc``.
    results : list of OcclusionResult
        The sweeps, in the order of ``rows``.
    curves : list of FidelityCurves
        Their deletion and insertion curves, in the order of ``rows``.
    target : int
        The class every map and curve follows.
    metric_baseline : str
        The fill every deletion and insertion curve used (one for all, so areas compare).

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> def model(batch):  # class 1 = brightness of the top-left 2x2 corner
    ...     p = batch[:, :2, :2].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> cmp = ow.compare(model, np.ones((4, 4)), baselines=["black", "white"],
    ...                  patch_sizes=[2], steps=4)
    >>> # White hides nothing in a white image: its map is flat and ranks pixels by position.
    >>> [(row["baseline"], row["deletion_auc"]) for row in cmp.rows]
    [('black', 0.125), ('white', 0.25)]
    """

    rows: list
    results: list
    curves: list
    target: int
    metric_baseline: str

    @property
    def best(self) -> dict:
        """The best-ranked row (lowest deletion AUC)."""
        return dict(self.rows[0])

    def table(self):
        """The rows as a pandas DataFrame when pandas is installed, else a list of dicts.

        Examples
        --------
        >>> cmp.table()[["rank", "baseline", "deletion_auc", "insertion_auc"]].round(3)
           rank baseline  deletion_auc  insertion_auc
        0     1    black           0.1            0.7
        1     2    white           0.2            0.6
        """
        rows = [dict(row) for row in self.rows]
        try:
            import pandas as pd
        except ImportError:  # pandas is optional: the rows are the table
            return rows
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        lines = [
            f"Comparison of {len(self.rows)} settings for class {self.target} (curves fill "
            f"{self.metric_baseline!r}; lower deletion AUC = more faithful map)"
        ]
        for row in self.rows:
            lines.append(
                f"  {row['rank']}. baseline {row['baseline']!r}, patch {row['patch_size']}, "
                f"stride {row['stride']}: deletion AUC {row['deletion_auc']:.4f}, insertion "
                f"AUC {row['insertion_auc']:.4f}"
            )
        return "\n".join(lines)

    def _fields(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def compare(
    model,
    image,
    *,
    baselines=("gray", "black", "blur"),
    patch_sizes=(16,),
    stride=None,
    preprocess=None,
    target=None,
    steps=DEFAULT_STEPS,
    metric_baseline=None,
    mode="occlude",
    output="auto",
    batch_size=None,
) -> Comparison:
    """Sweep an image under every baseline x patch size and rank the maps by deletion AUC.

    Parameters
    ----------
    model, image, preprocess, output, batch_size, mode
        As for :func:`occlusion_map`.
    baselines : list, default ("gray", "black", "blur")
        Fills to compare, each anything ``occlusion_map`` accepts as ``baseline`` (pass a
        colour as ``[(r, g, b)]``: a bare tuple is read as a list of fills).
    patch_sizes : sequence, default (16,)
        Patch sizes to compare (ints or ``(height, width)`` pairs).
    stride : int or tuple, optional
        One stride for every patch size; half of each patch (at least 1) when None.
    target : int, optional
        The class followed by every map and curve; the image's predicted class when None.
    steps : int, default 50
        Intervals on each curve (see :func:`fidelity`).
    metric_baseline : optional
        The fill of every deletion / insertion curve, shared so that the areas compare; the
        first of ``baselines`` when None.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> def model(batch):  # class 1 = brightness of the top-left 2x2 corner
    ...     p = batch[:, :2, :2].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> cmp = compare(model, np.ones((4, 4)), baselines=["black", "white"], patch_sizes=[2])
    >>> cmp.best["baseline"], cmp.target
    ('black', 1)
    """
    baselines = _as_list(baselines, "baselines")
    patch_sizes = _as_list(patch_sizes, "patch_sizes")
    if metric_baseline is None:
        metric_baseline = baselines[0]
    runs = []
    for patch in patch_sizes:
        step = stride if stride is not None else _half(patch)
        for fill in baselines:
            result = occlusion_map(
                model,
                image,
                patch_size=patch,
                stride=step,
                baseline=fill,
                preprocess=preprocess,
                output=output,
                batch_size=batch_size,
                progress=False,
                mode=mode,
            )
            if target is None:
                target = result.base_class
            runs.append(result)
    # One fill array for every curve (a "blur" would otherwise depend on each patch size).
    shared_fill, _ = _resolve_baseline(runs[0], metric_baseline)
    curves = [
        fidelity(
            model,
            result,
            preprocess=preprocess,
            steps=steps,
            target=target,
            baseline=shared_fill,
            batch_size=batch_size,
        )
        for result in runs
    ]
    # Lowest deletion area first; equal areas keep the order the settings were given in.
    order = sorted(range(len(runs)), key=lambda i: (curves[i].deletion_auc, i))
    rows = []
    for rank, i in enumerate(order, start=1):
        rows.append(
            {
                "rank": rank,
                "baseline": runs[i].baseline_name,
                "patch_size": runs[i].patch_size,
                "stride": runs[i].stride,
                "deletion_auc": curves[i].deletion_auc,
                "insertion_auc": curves[i].insertion_auc,
            }
        )
    return Comparison(
        rows=rows,
        results=[runs[i] for i in order],
        curves=[curves[i] for i in order],
        target=int(target),
        metric_baseline=describe_baseline(metric_baseline),
    )


def _as_list(values, name):
    if isinstance(values, (str, numbers.Number)) or (
        isinstance(values, np.ndarray) and values.ndim == 0
    ):
        values = [values]
    values = list(values)
    if not values:
        raise ValueError(f"{name} must name at least one setting; got an empty list")
    return values


def _half(patch):
    if isinstance(patch, (tuple, list)):
        return tuple(max(1, int(p) // 2) for p in patch)
    return max(1, int(patch) // 2)
