"""The demo model's known answer, and the check that it holds (:func:`check_toy`).

On :func:`~occlusion_widget.demo.sample_image` shapes the demo model must name the shape, its
occlusion map must peak on the shape, and occluding the background must seldom change its answer.
``scripts/train_demo_model.py`` refuses to ship weights that fail this check, the test suite runs
it on the shipped weights, and the classroom notebook runs it on a model trained in class. The
names are also importable from :mod:`occlusion_widget.demo.training`, where they used to live.

Examples
--------
>>> from occlusion_widget.demo.check import ToyReport
>>> ToyReport(cases=(), max_flip_rate=0.02).holds
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

from . import shapes as demo

__all__ = ["DECISION_MARGIN", "CaseResult", "ToyReport", "check_toy"]

#: Comparisons closer than this count against the model in :func:`check_toy`. Float32 forward
#: passes of this small CNN differ between CPUs (summation order, SIMD width) by a few 1e-7
#: relative in the logits, hence at most a few 1e-6 in any probability; a margin some 40 times
#: larger makes the check's verdict the same on every machine.
DECISION_MARGIN = 1e-4


@dataclasses.dataclass(frozen=True)
class CaseResult:
    """One sweep of :func:`check_toy`: one shape, seed and baseline."""

    kind: str
    seed: int
    baseline: str
    #: The unoccluded prediction is the shape, ahead of every other class by the margin.
    correct: bool
    #: The most sensitive patch overlaps the shape's box: the best overlapping position beats the
    #: best position off the box by the margin.
    peak_on_shape: bool
    #: Positions whose patch lies wholly outside the shape's box...
    outside: int
    #: ...and those of them where the prediction is not clearly the unoccluded class.
    outside_flips: int


@dataclasses.dataclass(frozen=True)
class ToyReport:
    """The outcome of :func:`check_toy`; :attr:`holds` is the verdict."""

    cases: tuple[CaseResult, ...]
    max_flip_rate: float

    @property
    def flip_rate(self) -> float:
        """Flips off the shape's box, over all positions off the box, summed over the cases."""
        outside = sum(case.outside for case in self.cases)
        return sum(case.outside_flips for case in self.cases) / max(outside, 1)

    @property
    def holds(self) -> bool:
        """Every prediction right, every peak on the shape, and few flips off the shape."""
        return (
            all(case.correct and case.peak_on_shape for case in self.cases)
            and self.flip_rate <= self.max_flip_rate
        )

    def summary(self) -> str:
        """A few lines saying what held and which cases failed."""
        wrong = [c for c in self.cases if not c.correct]
        off_peak = [c for c in self.cases if not c.peak_on_shape]
        flips = sum(c.outside_flips for c in self.cases)
        outside = sum(c.outside for c in self.cases)
        lines = [
            f"{len(self.cases)} sweeps: {len(self.cases) - len(wrong)} right unoccluded, "
            f"{len(self.cases) - len(off_peak)} with the peak on the shape",
            f"flips off the shape's box: {flips} of {outside} positions "
            f"({self.flip_rate:.2%}, allowed {self.max_flip_rate:.0%})",
            f"verdict: {'holds' if self.holds else 'FAILS'}",
        ]
        for case in self.cases:
            if not (case.correct and case.peak_on_shape):
                failed = "wrong unoccluded" if not case.correct else "peak off the shape"
                lines.append(f"  {case.kind} seed {case.seed} {case.baseline}: {failed}")
        return "\n".join(lines)


def _overlaps(patch: Sequence[int], box: Sequence[int]) -> bool:
    top, left, height, width = patch
    s_top, s_left, s_height, s_width = box
    return (
        top < s_top + s_height
        and s_top < top + height
        and left < s_left + s_width
        and s_left < left + width
    )


def _case(model, kind: str, seed: int, baseline: str, patch_size: int, stride: int) -> CaseResult:
    from ..engine import occlusion_map

    image, box = demo.sample_image(kind, seed=seed)
    label = demo.CLASS_NAMES.index(kind)
    result = occlusion_map(
        model,
        image,
        patch_size=patch_size,
        stride=stride,
        baseline=baseline,
        batch_size=256,
        progress=False,
    )
    base = np.asarray(result.base_probabilities, np.float64)
    others = np.delete(base, label)
    correct = bool(base[label] - others.max() > DECISION_MARGIN)

    probabilities = np.asarray(result.probabilities, np.float64)  # (rows, cols, K)
    drop = base[label] - probabilities[..., label]
    on_box = np.array(
        [[_overlaps(result.box(r, c), box) for c in range(result.cols)] for r in range(result.rows)]
    )
    off_box = ~on_box
    best_off = drop[off_box].max() if off_box.any() else -np.inf
    peak_on_shape = bool(drop[on_box].max() - best_off > DECISION_MARGIN)

    # A flip: some class other than the unoccluded one is within the margin of winning.
    base_class = int(np.argmax(base))
    kept = probabilities[..., base_class]
    rivals = np.delete(probabilities, base_class, axis=-1).max(axis=-1)
    unclear = kept - rivals <= DECISION_MARGIN
    return CaseResult(
        kind=kind,
        seed=seed,
        baseline=baseline,
        correct=correct,
        peak_on_shape=peak_on_shape,
        outside=int(off_box.sum()),
        outside_flips=int((unclear & off_box).sum()),
    )


def check_toy(
    model,
    kinds: Iterable[str] = tuple(demo.CLASS_NAMES),
    seeds: Iterable[int] = range(10),
    baselines: Iterable[str] = ("gray", "black", "mean", "blur"),
    patch_size: int = 12,
    stride: int = 4,
    max_flip_rate: float = 0.02,
) -> ToyReport:
    """Check the demo model's known answer on :func:`~occlusion_widget.demo.sample_image` shapes.

    For every shape, seed and baseline one sweep runs, and three things must hold: the unoccluded
    prediction is the shape; the most sensitive patch overlaps the shape's box; and of the
    positions whose patch lies wholly off the shape's box, at most ``max_flip_rate`` (summed over
    all sweeps) change the predicted class. Each comparison must win by
    :data:`DECISION_MARGIN`, so that the verdict does not depend on the machine's float rounding.

    Parameters
    ----------
    model : keras.Model or callable
        A demo model, e.g. :func:`occlusion_widget.demo.load_model`.
    kinds, seeds, baselines : iterables
        The cases: one sweep for each combination.
    patch_size, stride : int
        The sweep's geometry.
    max_flip_rate : float, default 0.02
        Allowed fraction of flips off the shape's box.

    Returns
    -------
    ToyReport

    Examples
    --------
    >>> from occlusion_widget import demo
    >>> from occlusion_widget.demo.check import check_toy
    >>> report = check_toy(demo.load_model(), kinds=["cross"], seeds=[0], baselines=["gray"])
    >>> report.holds, report.cases[0].peak_on_shape
    (True, True)
    """
    cases = tuple(
        _case(model, kind, int(seed), baseline, patch_size, stride)
        for kind in kinds
        for seed in seeds
        for baseline in baselines
    )
    return ToyReport(cases=cases, max_flip_rate=max_flip_rate)
