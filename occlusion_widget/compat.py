"""The seed notebook's API: ``OcclusionSensitivity(model).explain(x, targets=...)`` and
``vizualize`` (the seed's spelling of :func:`~occlusion_widget.visualize`).

The notebook passes ``x`` already preprocessed, shape ``(1, H, W, C)``, so occlusion happens in
model space here and the default baseline ("gray") is the middle of ``x``'s value range: 0 for
MobileNetV2's [-1, 1].
"""

from __future__ import annotations

import hashlib
import numbers

import numpy as np

from .engine.fingerprint import weights_fingerprint
from .engine.params import DEFAULTS, SWEEP_PARAMETERS, validate_params
from .engine.sweep import run_sweep

__all__ = ["OcclusionSensitivity", "vizualize"]

#: The sweep parameters the explainer takes (``x`` is already preprocessed, and explain() runs
#: to the end).
EXPLAINER_PARAMETERS = tuple(n for n in SWEEP_PARAMETERS if n not in ("preprocess", "cancel"))


class OcclusionSensitivity:
    """Occlusion sensitivity explainer with the seed notebook's interface.

    Parameters
    ----------
    model : keras.Model or callable
        The classifier, taking a batch of images in the same space as ``x``.
    patch_size, stride, baseline, output, batch_size, value_range, resize, progress
        Keyword-only, as for :func:`occlusion_widget.occlusion_map` (same defaults, except
        ``progress=False``). ``baseline`` is in ``x``'s space.

    Notes
    -----
    Explaining several targets of one ``x`` reuses one sweep. The sweep is redone when ``x``,
    a parameter, the model (``explainer.model = other``) or the model's weights
    (``model.set_weights(...)``) change: a Keras model's weights are fingerprinted on every
    call. A plain callable is known by its identity only.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b[:, :4].mean(axis=(1, 2, 3)) * 0 + 0.5,
    ...                             b[:, :4].mean(axis=(1, 2, 3)) * 0 + 0.5], 1)
    >>> explainer = ow.OcclusionSensitivity(model, patch_size=4, stride=4)
    >>> explainer.explain(np.zeros((1, 8, 8, 3), np.float32), targets=0).shape
    (8, 8)
    """

    def __init__(
        self,
        model,
        *,
        patch_size=DEFAULTS.patch_size,
        stride=DEFAULTS.stride,
        baseline=DEFAULTS.baseline,
        mode=DEFAULTS.mode,
        output=DEFAULTS.output,
        batch_size=DEFAULTS.batch_size,
        value_range=DEFAULTS.value_range,
        resize=DEFAULTS.resize,
        progress=DEFAULTS.progress,
        method=DEFAULTS.method,
    ):
        if not callable(model):
            raise TypeError(
                f"model must be a keras.Model or a callable; got {type(model).__name__}"
            )
        self.model = model
        self.patch_size = patch_size
        self.stride = stride
        self.baseline = baseline
        self.mode = mode
        self.method = method
        self.output = output
        self.batch_size = batch_size
        self.value_range = value_range
        self.resize = resize
        self.progress = progress
        self._cache_key = None
        self._cache_model = None
        self._cache_result = None

    def occlusion_map(self, x):
        """The full :class:`~occlusion_widget.OcclusionResult` for ``x`` (every class).

        Explaining several targets of the same ``x`` reuses one sweep.

        Examples
        --------
        >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
        >>> explainer = OcclusionSensitivity(model, patch_size=4, stride=4)
        >>> explainer.occlusion_map(np.ones((1, 8, 8, 3), np.float32)).base_class
        0
        """
        settings = {name: getattr(self, name) for name in EXPLAINER_PARAMETERS}
        params = validate_params(x, model=self.model, **settings)
        pixels = params.image.pixels
        key = (
            hashlib.sha1(pixels.tobytes()).hexdigest(),
            pixels.shape,
            params.image.value_range,
            params.grid.patch_size,
            params.grid.stride,
            params.baseline_name,
            params.mode,
            params.method,
            hashlib.sha1(params.baseline.tobytes()).hexdigest(),
            params.output,
            weights_fingerprint(self.model),
        )
        # The model itself (not its id, which a new object may reuse) is part of the key.
        if key != self._cache_key or self.model is not self._cache_model:
            # The notebook explains the top three classes of one image: one sweep serves all.
            for partial in run_sweep(self.model, params):
                self._cache_result = partial
            self._cache_key = key
            self._cache_model = self.model
        return self._cache_result

    def explain(self, x, targets=None):
        """Per-pixel attribution maps for one or more target classes.

        Parameters
        ----------
        x : array-like
            The (already preprocessed) image, ``(1, H, W, C)`` as in the seed notebook, or
            ``(H, W, C)``.
        targets : int, sequence of int, or None
            Class index (indices); None explains the predicted class.

        Returns
        -------
        numpy.ndarray
            ``(H, W)`` float32 for one target, ``(len(targets), H, W)`` for a sequence. Each
            pixel is the mean drop in the target's probability over the patches covering it
            (positive = the region supports the class).

        Raises
        ------
        TypeError, ValueError
            A target that is no class index (a float, a bool, a name, a set), an empty list,
            or a class the model does not have.

        Examples
        --------
        >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
        >>> explainer = OcclusionSensitivity(model, patch_size=4, stride=4)
        >>> explainer.explain(np.ones((1, 8, 8, 3), np.float32), targets=[0, 1]).shape
        (2, 8, 8)
        """
        single, classes = _explain_targets(targets)  # before the sweep: a typo fails fast
        result = self.occlusion_map(x)
        if single:
            return result.attribution(classes[0])
        return np.stack([result.attribution(t) for t in classes])


def _explain_targets(targets) -> tuple[bool, list]:
    """``targets`` -> (one map?, the classes), or the error that says what explain() takes."""
    if targets is None:
        return True, [None]
    if _is_index(targets):
        return True, [int(targets)]
    if isinstance(targets, (set, frozenset)):
        raise TypeError(
            f"targets must be a class index or a list of them; got the set {targets!r}, which "
            f"has no order: pass a list, the maps come back in its order"
        )
    if not isinstance(targets, (list, tuple, np.ndarray)):
        raise TypeError(f"targets must be a class index or a list of them; got {targets!r}")
    flat = np.asarray(targets, dtype=object).ravel().tolist()
    if not flat:
        raise ValueError("targets is an empty list; give a class index, a list of them or None")
    for t in flat:
        if not _is_index(t):
            advice = (
                " (explain() takes indices; ow.labels.imagenet().index(name) finds one)"
                if isinstance(t, str)
                else ""
            )
            raise TypeError(
                f"targets must be class indices (ints); got {t!r} in {targets!r}{advice}"
            )
    return False, [int(t) for t in flat]


def _is_index(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def vizualize(explanation, image, save_path=None, **kwargs):
    """The seed notebook's name for :func:`~occlusion_widget.visualize`; like the seed's, it
    says where it saved the plot.

    Parameters
    ----------
    explanation, image, save_path, **kwargs
        As for :func:`~occlusion_widget.visualize`.

    Returns
    -------
    matplotlib.figure.Figure
        What :func:`~occlusion_widget.visualize` returns.

    Examples
    --------
    >>> import os, matplotlib
    >>> matplotlib.use("Agg")
    >>> fig = vizualize(np.zeros((8, 8)), np.zeros((8, 8, 3), np.uint8), save_path=os.devnull)
    Plot saved to /dev/null
    """
    from .plot import visualize

    shown = visualize(explanation, image, save_path=save_path, **kwargs)
    if save_path is not None:
        print(f"Plot saved to {save_path}")
    return shown
