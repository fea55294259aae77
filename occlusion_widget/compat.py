"""The seed notebook's API: ``OcclusionSensitivity(model).explain(x, targets=...)``.

The notebook passes ``x`` already preprocessed, shape ``(1, H, W, C)``, so occlusion happens in
model space here and the default baseline ("gray") is the middle of ``x``'s value range: 0 for
MobileNetV2's [-1, 1].
"""

from __future__ import annotations

import hashlib
import numbers

import numpy as np

from .engine.sweep import occlusion_map, validate_params

__all__ = ["OcclusionSensitivity"]


class OcclusionSensitivity:
    """Occlusion sensitivity explainer with the seed notebook's interface.

    Parameters
    ----------
    model : keras.Model or callable
        The classifier, taking a batch of images in the same space as ``x``.
    patch_size : int or tuple of int, default 16
    stride : int or tuple of int, default 8
    baseline : str, number, tuple or array, default "gray"
        Fill value in ``x``'s space (see :func:`occlusion_widget.occlusion_map`).
    batch_size : int, optional
    output : {"auto", "probabilities", "logits"}, default "auto"
    progress : bool or callable, default False

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
        patch_size=16,
        stride=8,
        baseline="gray",
        batch_size=None,
        output="auto",
        progress=False,
    ):
        if not callable(model):
            raise TypeError(
                f"model must be a keras.Model or a callable; got {type(model).__name__}"
            )
        self.model = model
        self.patch_size = patch_size
        self.stride = stride
        self.baseline = baseline
        self.batch_size = batch_size
        self.output = output
        self.progress = progress
        self._cache_key = None
        self._cache_result = None

    def occlusion_map(self, x):
        """The full :class:`~occlusion_widget.OcclusionResult` for ``x`` (every class).

        Explaining several targets of the same ``x`` reuses one sweep.

        Examples
        --------
        >>> explainer.occlusion_map(x).base_class  # doctest: +SKIP
        386
        """
        params = validate_params(
            x,
            patch_size=self.patch_size,
            stride=self.stride,
            baseline=self.baseline,
            output=self.output,
            batch_size=self.batch_size,
        )
        pixels = params.image.pixels
        digest = hashlib.sha1(pixels.tobytes()).hexdigest()
        key = (
            digest,
            pixels.shape,
            params.grid.patch_size,
            params.grid.stride,
            params.baseline_name,
            hashlib.sha1(params.baseline.tobytes()).hexdigest(),
            self.output,
        )
        if key != self._cache_key:
            # The notebook explains the top three classes of one image: one sweep serves all.
            self._cache_result = occlusion_map(
                self.model,
                x,
                patch_size=self.patch_size,
                stride=self.stride,
                baseline=self.baseline,
                output=self.output,
                batch_size=self.batch_size,
                progress=self.progress,
            )
            self._cache_key = key
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

        Examples
        --------
        >>> explanation = explainer.explain(x, targets=386)  # doctest: +SKIP
        >>> explanation.shape  # doctest: +SKIP
        (224, 224)
        """
        result = self.occlusion_map(x)
        if targets is None or isinstance(targets, numbers.Integral):
            return result.attribution(None if targets is None else int(targets))
        targets = np.asarray(targets).ravel()
        return np.stack([result.attribution(int(t)) for t in targets])
