"""What the model saw and said at one grid cell: the widget's ``selection`` in Python."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..engine import OcclusionResult
from .topk import top_classes

__all__ = ["Selection", "select"]


@dataclass(frozen=True)
class Selection:
    """What the model saw and said at the selected grid cell.

    Attributes
    ----------
    row, col : int
        The grid cell.
    box : tuple of int
        ``(top, left, height, width)`` of the patch in image pixels.
    occluded_image : numpy.ndarray
        The exact raw-space ``(H, W, C)`` image fed to ``preprocess`` at this position.
    computed : bool
        Whether this position has been scored (False while a sweep has not reached it).
    top_classes, top_probabilities : numpy.ndarray
        The top-k classes at this position, most probable first, and their probabilities.
    top_names : list of str
        Their names.
    predicted_class, predicted_name
        The most probable class here (-1 and ``""`` when not computed).
    base_class, base_name
        The unoccluded image's prediction.
    target, target_name
        The class the map explains, or a group of classes (a list; the name joins theirs
        with ``" + "`` and the probabilities below are summed over it).
    target_probability, base_target_probability : float
        P(target) with this patch occluded, and without occlusion.
    target_drop : float
        ``base_target_probability - target_probability``: positive when hiding this patch hurt.

    Examples
    --------
    >>> w.selected = (1, 1)  # the patch over pixels 4..12 hides a quarter of the square
    >>> w.selection.predicted_name, w.selection.target_name, round(w.selection.target_drop, 3)
    ('square', 'square', 0.2)
    """

    row: int
    col: int
    box: tuple[int, int, int, int]
    occluded_image: np.ndarray = field(repr=False)
    computed: bool
    top_classes: np.ndarray
    top_probabilities: np.ndarray
    top_names: list[str]
    predicted_class: int
    predicted_name: str
    base_class: int
    base_name: str
    target: int | list[int]
    target_name: str
    target_probability: float
    base_target_probability: float
    target_drop: float

    @property
    def flipped(self) -> bool:
        """Whether the prediction here differs from the unoccluded prediction."""
        return self.computed and self.predicted_class != self.base_class


def select(
    result: OcclusionResult,
    row: int,
    col: int,
    *,
    target: int | list[int],
    names: list[str],
    top_k: int,
) -> Selection:
    """The :class:`Selection` of cell ``(row, col)`` of ``result``.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                           baseline="black", progress=False)
    >>> s = select(result, 0, 0, target=0, names=["bright", "dark"], top_k=2)
    >>> s.top_names, round(s.target_drop, 2)
    (['bright', 'dark'], 0.25)
    >>> select(result, 0, 0, target=[0, 1], names=["bright", "dark"], top_k=2).target_name
    'bright + dark'
    """
    computed = bool(result.computed[row, col])
    if computed:
        classes, probs = top_classes(result.probabilities[row, col][None], top_k)
        top, top_p = classes[0], probs[0]
        predicted = int(top[0])
    else:
        top, top_p, predicted = np.zeros(0, np.int32), np.zeros(0, np.float32), -1
    group = list(result.classes_of(target))
    p_target = float(result.probabilities[row, col, group].sum())
    p_base = result.base_probability(group)
    return Selection(
        row=row,
        col=col,
        box=result.box(row, col),
        occluded_image=result.occluded_image(row, col),
        computed=computed,
        top_classes=top,
        top_probabilities=top_p,
        top_names=[names[i] for i in top],
        predicted_class=predicted,
        predicted_name=names[predicted] if predicted >= 0 else "",
        base_class=result.base_class,
        base_name=names[result.base_class],
        target=list(target) if isinstance(target, (list, tuple)) else int(target),
        target_name=result.target_name(group, names),
        target_probability=p_target,
        base_target_probability=p_base,
        target_drop=p_base - p_target,
    )
