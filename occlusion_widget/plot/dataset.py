"""Figures of a dataset sweep: confusion under occlusion as a heat map.

The dataset package draws with these (``OcclusionDataset.plot_confusion``); nothing here imports
the dataset package, so the arrow points one way (dataset -> plot).
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "plot_confusion"]


def plot_confusion(confusion, class_names=None, num_classes=None, ax=None, title=None):
    """Heat map of confusion under occlusion: rows are the group classes (true or predicted),
    columns the classes that win when a patch is hidden, colour the fraction of positions.

    Parameters
    ----------
    confusion : pandas.DataFrame
        From :meth:`OcclusionDataset.confusion`.
    class_names : list of str, optional
        Tick labels.
    num_classes : int, optional
        Show every class (a square matrix) instead of only those that occur.
    ax : matplotlib.axes.Axes, optional
        Draw here; a new figure otherwise.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> fig = plot_confusion(pd.DataFrame({"group": [0], "winner": [1], "fraction": [0.5]}))
    >>> fig.axes[0].get_xlabel()
    'class that wins when a patch is hidden'
    """
    import matplotlib.pyplot as plt

    matrix, groups, winners = confusion_matrix(confusion, num_classes)
    if ax is None:
        size = max(4.0, 0.45 * max(len(winners), len(groups)) + 2.5)
        fig, ax = plt.subplots(figsize=(size, size * 0.85))
    else:
        fig = ax.figure
    if matrix.size == 0:
        ax.text(0.5, 0.5, "no position changed the prediction", ha="center", va="center")
        ax.set_axis_off()
        return fig
    image = ax.imshow(matrix, cmap="magma_r", vmin=0.0, vmax=max(float(matrix.max()), 1e-9))
    names = list(class_names) if class_names is not None else None

    def label(i):
        return names[i] if names is not None and 0 <= i < len(names) else str(i)

    ax.set_xticks(np.arange(len(winners)), [label(w) for w in winners], rotation=60, ha="right")
    ax.set_yticks(np.arange(len(groups)), [label(g) for g in groups])
    ax.set_xlabel("class that wins when a patch is hidden")
    ax.set_ylabel("images of class")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of positions")
    ax.set_title(title or "Confusion under occlusion")
    fig.tight_layout()
    return fig


def confusion_matrix(confusion, num_classes=None):
    """The long table as a ``(groups, winners)`` matrix of fractions, and the class indices of
    its rows and columns.

    Examples
    --------
    >>> import pandas as pd
    >>> m, rows, cols = confusion_matrix(pd.DataFrame(
    ...     {"group": [0, 1], "winner": [1, 0], "fraction": [0.5, 0.25]}))
    >>> m.tolist(), rows, cols
    ([[0.0, 0.5], [0.25, 0.0]], [0, 1], [0, 1])
    """
    groups = sorted({int(g) for g in confusion["group"]})
    winners = sorted({int(w) for w in confusion["winner"]})
    if num_classes is not None:
        groups = winners = list(range(num_classes))
    r = {g: i for i, g in enumerate(groups)}
    c = {w: i for i, w in enumerate(winners)}
    matrix = np.zeros((len(groups), len(winners)))
    for g, w, f in zip(confusion["group"], confusion["winner"], confusion["fraction"], strict=True):
        matrix[r[int(g)], c[int(w)]] = f
    return matrix, groups, winners
