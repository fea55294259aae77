"""The classes of a result: which a target names, and which the model predicts per position.

A mixin of :class:`~.result.OcclusionResult` (kept apart so that the result's file stays about
its maps and persistence); it reads ``probabilities``, ``computed``, ``num_classes`` and
``base_class``.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from .. import labels as _labels

__all__ = ["ClassesMixin"]


class ClassesMixin:
    """Class handling shared by :class:`~.result.OcclusionResult` (see there)."""

    probabilities: np.ndarray  # (rows, cols, K)
    computed: np.ndarray  # (rows, cols) bool

    if TYPE_CHECKING:  # the result's own read-only properties

        @property
        def num_classes(self) -> int: ...

        @property
        def base_class(self) -> int: ...

    def _target(self, target) -> int:
        if target is None:
            return self.base_class
        if isinstance(target, bool) or not isinstance(target, numbers.Integral):
            raise TypeError(
                f"target must be a class index (int) or a group of them (list, tuple or set "
                f"of ints); got {target!r}"
            )
        if not 0 <= int(target) < self.num_classes:
            raise ValueError(
                f"target {target} is out of range: the model has {self.num_classes} classes "
                f"(0 to {self.num_classes - 1})"
            )
        return int(target)

    def classes_of(self, target=None) -> tuple[int, ...]:
        """The classes a target stands for.

        ``None`` is :attr:`base_class`; an int is that class; a list, tuple or set of ints is
        a group whose probabilities are summed (e.g. the three elephant classes of ImageNet).

        Raises
        ------
        TypeError, ValueError
            Not an int or a group of ints, a class out of range, an empty group or a class
            listed twice.

        Examples
        --------
        >>> result.classes_of(), result.classes_of([2, 1]), result.classes_of({2, 1})
        ((1,), (2, 1), (1, 2))
        """
        if isinstance(target, (list, tuple, set, frozenset, np.ndarray)):
            members = sorted(target) if isinstance(target, (set, frozenset)) else list(target)
            members = [m.item() if isinstance(m, np.generic) else m for m in np.ravel(members)]
            if not members:
                raise ValueError("a target group needs at least one class; got an empty group")
            classes = tuple(self._target(m) for m in members)
            if len(set(classes)) != len(classes):
                raise ValueError(f"a target group lists a class twice: {list(classes)}")
            return classes
        return (self._target(target),)

    def target_name(self, target=None, labels=None) -> str:
        """How a target reads in titles: its label (or ``class i``), groups joined by ``+``.

        ``labels`` is anything :func:`occlusion_widget.labels.as_list` takes ("imagenet", a
        list of one name per class, a dict ``{index: name}``), checked against the classes.

        Examples
        --------
        >>> result.target_name([1, 2], labels=["sky", "square", "other"])
        'square + other'
        >>> result.target_name(2)
        'class 2'
        """
        classes = self.classes_of(target)
        names = _labels.as_list(labels, self.num_classes)
        return " + ".join(names[c] for c in classes)

    # -- predicted classes -------------------------------------------------------------------

    def predicted_classes(self) -> np.ndarray:
        """``(rows, cols)`` int argmax class at each position, -1 where not computed.

        Examples
        --------
        >>> result.predicted_classes()[0]
        array([2, 2, 1])
        """
        filled = np.where(np.isfinite(self.probabilities), self.probabilities, -np.inf)
        classes = np.argmax(filled, axis=2).astype(np.int64)
        classes[~self.computed] = -1
        return classes

    def class_counts(self) -> dict[int, int]:
        """Class -> number of computed positions predicting it, most frequent first.

        Ties are ordered by class index.

        Examples
        --------
        >>> result.class_counts()
        {1: 6, 2: 3}
        """
        classes = self.predicted_classes()
        values, counts = np.unique(classes[classes >= 0], return_counts=True)
        order = np.lexsort((values, -counts))
        return {int(values[i]): int(counts[i]) for i in order}

    def flips(self) -> np.ndarray:
        """``(rows, cols)`` bool: computed positions whose predicted class differs from
        :attr:`base_class`.

        Examples
        --------
        >>> int(result.flips().sum())
        3
        """
        return self.computed & (self.predicted_classes() != self.base_class)
