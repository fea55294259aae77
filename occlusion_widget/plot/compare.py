"""Figures for :func:`compare`: the maps side by side, above their deletion / insertion curves.

matplotlib's object-oriented API only (a ``Figure``, never pyplot's global state), imported
inside the functions so ``import occlusion_widget`` stays light.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from .. import labels as _labels
from ..engine.compare import Comparison
from ..engine.compare import compare as _compare_engine
from ..engine.params import reject_unknown
from ._common import display_rgb, underlay

__all__ = ["PlottedComparison", "compare", "comparison_figure"]


@dataclass(frozen=True, repr=False, eq=False)
class PlottedComparison(Comparison):
    """A :class:`~occlusion_widget.engine.compare.Comparison` that can draw itself.

    Attributes
    ----------
    labels : tuple of str or None
        One name per class, when :func:`compare` was given ``labels``: the figure names the
        target with it.

    Examples
    --------
    >>> cmp.figure()  # cmp: two fills compared
    <Figure size 600x600 with 4 Axes>
    """

    labels: tuple[str, ...] | None = None

    @property
    def target_name(self) -> str:
        """The target's label, or ``class i`` without labels.

        Examples
        --------
        >>> cmp.target_name
        'square'
        """
        return self.results[0].target_name(self.target, self.labels)

    def __repr__(self) -> str:
        text = super().__repr__()
        return text.replace(f"for class {self.target} ", f"for {self.target_name} ", 1)

    def figure(self, *, figsize=None, cmap="RdBu_r"):
        """The maps side by side (best first) above their curves; see :func:`comparison_figure`."""
        return comparison_figure(self, figsize=figsize, cmap=cmap)

    def plot(self, *, figsize=None, cmap="RdBu_r"):
        """Alias of :meth:`figure`."""
        return self.figure(figsize=figsize, cmap=cmap)

    def _repr_html_(self):  # a readable table in notebooks, with or without pandas
        table = self.table()
        if hasattr(table, "to_html"):
            return table.to_html(index=False)
        head = "".join(f"<th>{k}</th>" for k in table[0])
        body = "".join(
            "<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row.values()) + "</tr>" for row in table
        )
        return f"<table><tr>{head}</tr>{body}</table>"


def compare(model, image, *, labels=None, **kwargs) -> PlottedComparison:
    """Sweep an image under several baselines and patch sizes, rank the maps by deletion AUC.

    The quantitative form of "compare fills, trust what they agree on": every map is judged by
    the same deletion curve (one shared fill), the lower its area the more faithful the map.

    Parameters
    ----------
    model, image
        As for :func:`occlusion_map`.
    labels : list, dict, "imagenet", "cifar10" or None
        Class names, so the figure says "P(triangle)", not "P(class 2)".
    **kwargs
        Keyword-only, as for :func:`occlusion_widget.engine.compare.compare`:
        ``baselines`` (the fills to compare, default ``("gray", "black", "blur")``),
        ``patch_sizes`` (default ``(16,)``), ``stride`` (half of each patch when None),
        ``target`` (the predicted class when None), ``steps`` (intervals on each curve,
        default 50), ``metric_baseline`` (the one fill of every curve; the first of
        ``baselines`` when None), and ``preprocess``, ``mode``, ``output``, ``batch_size`` as
        for :func:`occlusion_map`.

    Returns
    -------
    PlottedComparison
        ``.rows`` / ``.table()`` (a pandas DataFrame when pandas is installed) and
        ``.figure()`` / ``.plot()``.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> def model(batch):  # class 1 = brightness of the top-left 2x2 corner
    ...     p = batch[:, :2, :2].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> cmp = ow.compare(model, np.ones((4, 4)), baselines=["black", "white"],
    ...                  patch_sizes=[2], steps=4)
    >>> cmp.best["baseline"]
    'black'
    """
    # Named here, not by Python: "patch_size=16" gets "did you mean 'patch_sizes'?".
    options = inspect.signature(_compare_engine).parameters.values()
    reject_unknown(kwargs, "compare()", [o.name for o in options if o.kind is o.KEYWORD_ONLY])
    result = _compare_engine(model, image, **kwargs)
    names = None
    if labels is not None:
        names = tuple(_labels.as_list(labels, result.results[0].num_classes))
    return PlottedComparison(**result._fields(), labels=names)


def comparison_figure(comparison: Comparison, *, figsize=None, cmap="RdBu_r"):
    """Draw every setting's map (best first) above one panel of all their curves.

    Maps share one symmetric colour scale, so the same colour means the same drop in every
    panel. Deletion curves are solid, insertion curves dashed, one colour per setting.

    Parameters
    ----------
    comparison : Comparison
        What :func:`compare` returned.
    figsize : tuple of float, optional
        Inches; 3 per setting wide, 6 high by default.
    cmap : str, default "RdBu_r"
        Colour map of the attribution maps.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = comparison_figure(cmp, figsize=(8, 5))
    >>> fig.axes[0].get_title().splitlines()  # the best map first, with its area
    ['1. black, patch 8', 'deletion AUC 0.100']
    """
    from matplotlib.figure import Figure

    n = len(comparison.rows)
    fig = Figure(figsize=figsize or (max(6.0, 3.0 * n), 6.0), layout="constrained")
    grid = fig.add_gridspec(2, n)
    maps = [r.attribution(comparison.target) for r in comparison.results]
    limit = max(float(np.nanmax(np.abs(m))) for m in maps) or 1.0
    colours = [f"C{i % 10}" for i in range(n)]
    image = None
    for i, (row, result, attribution) in enumerate(
        zip(comparison.rows, comparison.results, maps, strict=True)
    ):
        ax = fig.add_subplot(grid[0, i])
        # In grey under the map, as in the widget: no colour of the image passes for a map colour.
        ax.imshow(underlay(display_rgb(result.image, result.value_range)))
        image = ax.imshow(attribution, cmap=cmap, vmin=-limit, vmax=limit, alpha=0.6)
        ax.set_title(
            f"{row['rank']}. {row['baseline']}, patch {_pair(row['patch_size'])}\n"
            f"deletion AUC {row['deletion_auc']:.3f}",
            color=colours[i],
            fontsize=9,
        )
        ax.set_xticks([])
        ax.set_yticks([])
    target_name = comparison.results[0].target_name(
        comparison.target, getattr(comparison, "labels", None)
    )
    if image is not None:
        label = "gain when shown" if comparison.results[0].mode == "reveal" else "drop when hidden"
        fig.colorbar(image, ax=fig.axes[:n], shrink=0.8, label=f"P({target_name}): {label}")
    curves_ax = fig.add_subplot(grid[1, :])
    for i, (row, curves) in enumerate(zip(comparison.rows, comparison.curves, strict=True)):
        name = f"{row['rank']}. {row['baseline']}, {_pair(row['patch_size'])}"
        curves_ax.plot(curves.fractions, curves.deletion, color=colours[i], label=name)
        curves_ax.plot(curves.fractions, curves.insertion, color=colours[i], linestyle="--")
    curves_ax.set_xlim(0.0, 1.0)
    curves_ax.set_ylim(-0.02, 1.02)
    curves_ax.set_xlabel(
        "fraction of pixels removed (solid: deletion) or added (dashed: insertion)"
    )
    curves_ax.set_ylabel(f"P({target_name})")
    curves_ax.set_title(
        f"most important pixels first, filled with {comparison.metric_baseline!r}; "
        f"lower deletion area = more faithful map",
        fontsize=9,
    )
    curves_ax.legend(fontsize=8, loc="best")
    return fig


def _pair(pair):
    h, w = pair
    return f"{h}" if h == w else f"{h}x{w}"


def _fmt(value):
    return f"{value:.4f}" if isinstance(value, float) else str(value)
