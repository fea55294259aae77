"""What goes into a model and what comes out: input shapes (with advice that fits the
mistake), and outputs -> one ``(N, K)`` score array -> class probabilities, checked per batch.

A model may return a tensor of any framework, a dict or list holding one output, or plain
Python rows; :func:`single_output` makes one float32 array of them. :func:`to_probabilities`
reads the scores as probabilities or logits, and :func:`check_scores` holds every batch to
the kind the sweep decided on.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

__all__ = [
    "OUTPUT_KINDS",
    "PROBABILITY_TOLERANCE",
    "InputError",
    "InputShapeError",
    "check_input_shape",
    "check_prepared",
    "check_scores",
    "single_output",
    "to_numpy",
    "to_probabilities",
]

#: Accepted values of ``output``.
OUTPUT_KINDS = ("auto", "probabilities", "logits")
#: How far past [0, 1] a probability may stray: float32 softmax and sigmoid outputs round a few
#: ulps (~1e-7) past the ends, and some models compute them in float16 (~1e-3 steps near 1).
PROBABILITY_TOLERANCE = 1e-3


class InputError(ValueError):
    """What the model is fed or returns is wrong in a way the user can fix (not a model bug):
    the sweep passes it on as it is instead of wrapping it as a model failure."""


class InputShapeError(InputError):
    """The image does not fit the model's declared input shape (a user error, not a model bug)."""


def check_prepared(x) -> np.ndarray:
    """What ``preprocess`` returned for a batch, as a numpy array, refused when it is None or
    holds NaN or infinite values (a compiled model can turn those into finite, wrong scores,
    so the scores' own check would not catch them)."""
    if x is None:
        raise InputError(
            "preprocess returned None; it must return the preprocessed batch (a function that "
            "changes the batch in place still needs `return batch`)"
        )
    x = to_numpy(x)
    if x.dtype.kind in "fc" and not np.isfinite(x).all():
        bad = ~np.isfinite(x)
        label = "NaN" if np.isnan(x).any() else "infinite values"
        raise InputError(
            f"preprocess returned {label} ({int(bad.sum())} of {x.size} values in a batch of "
            f"{x.shape[0] if x.ndim else 1} images); the model needs finite inputs. Check what "
            f"preprocess does to the image's value range (a square root or log of negative "
            f"values, a division by zero)"
        )
    return x


def to_numpy(y) -> np.ndarray:
    if hasattr(y, "detach") and hasattr(y, "cpu"):  # torch tensors refuse np.asarray on GPU
        y = y.detach().cpu().numpy()
    return np.asarray(y)


def _is_nested_numbers(y) -> bool:
    """Whether ``y`` is a (nested) list of plain numbers rather than a list of output arrays."""
    items = list(y)
    while items and all(isinstance(i, (list, tuple)) for i in items):
        items = [j for i in items for j in i]
    return bool(items) and all(isinstance(i, (numbers.Number, np.generic)) for i in items)


def single_output(y) -> np.ndarray:
    if y is None:
        raise InputShapeError(
            "the model returned None; it must return class scores, one row per image (a "
            "function that computes them but forgets `return`?)"
        )
    if isinstance(y, dict):
        if len(y) != 1:
            raise InputShapeError(
                f"the model has {len(y)} outputs ({', '.join(map(str, y))}); occlusion needs one "
                f"class-score output. Wrap it, e.g. keras.Model(model.inputs, model.outputs[0])"
            )
        y = next(iter(y.values()))
    if isinstance(y, (list, tuple)) and _is_nested_numbers(y):
        # A plain-Python model returning [[p0, p1, ...], ...]: one row per image, not outputs.
        y = np.asarray(y, dtype=np.float32)
    if isinstance(y, (list, tuple)):
        if len(y) != 1:
            raise InputShapeError(
                f"the model has {len(y)} outputs; occlusion needs one class-score output. "
                f"Wrap it, e.g. keras.Model(model.inputs, model.outputs[0])"
            )
        y = y[0]
    y = to_numpy(y)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim == 2 and y.shape[1] == 0:
        raise InputShapeError(
            f"the model returned no class scores (shape {y.shape}); it must return at least "
            f"one score per image"
        )
    if y.ndim != 2:
        raise InputShapeError(
            f"the model must return one score vector per image, shape (N, K); got shape "
            f"{y.shape}. Segmentation or feature-map outputs need reducing to class scores first"
        )
    return y.astype(np.float32, copy=False)


def to_probabilities(scores: np.ndarray, output: str) -> tuple[np.ndarray, str]:
    """Turn raw model scores into probabilities.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N, K)`` model outputs.
    output : {"auto", "probabilities", "logits", "softmax", "sigmoid"}
        What the scores are. ``"auto"`` decides from these scores: rows inside [0, 1] that sum
        to 1 are probabilities; anything outside [0, 1] is logits. Once decided, pass the
        returned kind for later batches so every batch is treated alike.

    Returns
    -------
    probabilities : numpy.ndarray
        ``(N, K)`` float32, or ``(N, 2)`` ``[1 - p, p]`` for a single sigmoid output.
    kind : str
        The resolved kind: ``"probabilities"``, ``"softmax"`` (logits -> softmax),
        ``"sigmoid"`` (one probability) or ``"sigmoid_logit"`` (one logit).

    Examples
    --------
    >>> p, kind = to_probabilities(np.array([[1.0, -1.0]]), "auto")
    >>> [round(float(v), 3) for v in p[0]], kind
    ([0.881, 0.119], 'softmax')
    """
    scores = np.asarray(scores, np.float32)
    single = scores.shape[1] == 1
    if output == "auto":
        inside = bool(np.all(scores >= 0.0) and np.all(scores <= 1.0))
        if single:
            output = "sigmoid" if inside else "sigmoid_logit"
        elif inside:
            # Independent sigmoid outputs (multi-label) do not sum to 1 but are already
            # probabilities; softmaxing them would distort them, so only out-of-range is logits.
            output = "probabilities"
        else:
            output = "softmax"
    elif output == "probabilities":
        output = "sigmoid" if single else "probabilities"
    elif output == "logits":
        output = "sigmoid_logit" if single else "softmax"
        if not single and _look_like_probabilities(scores):
            warnings.warn(
                "output='logits' but every row of scores lies in [0, 1] and sums to 1, as "
                "probabilities do: a softmax over them flattens them towards uniform (0.996 "
                "becomes about 0.47 of 4 classes). Pass output='auto' or 'probabilities' for "
                "a model that ends in a softmax",
                UserWarning,
                stacklevel=2,
            )

    if output == "probabilities":
        # check_scores rejects more than PROBABILITY_TOLERANCE past the ends; clip the rest.
        probs = np.clip(scores, 0.0, 1.0)
    elif output == "softmax":
        shifted = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        probs = e / e.sum(axis=1, keepdims=True)
    elif output in ("sigmoid", "sigmoid_logit"):
        p = scores[:, :1]
        if output == "sigmoid_logit":
            p = 1.0 / (1.0 + np.exp(-p))
        else:
            p = np.clip(p, 0.0, 1.0)
        probs = np.concatenate([1.0 - p, p], axis=1)
    else:
        raise ValueError(f"output must be one of {OUTPUT_KINDS}; got {output!r}")
    return probs.astype(np.float32, copy=False), output


def _look_like_probabilities(scores: np.ndarray) -> bool:
    inside = bool(np.all(scores >= 0.0) and np.all(scores <= 1.0))
    return inside and bool(np.allclose(scores.sum(axis=1), 1.0, atol=PROBABILITY_TOLERANCE))


def check_scores(scores: np.ndarray, kind: str, where: str, automatic: bool) -> None:
    """Check that one batch of raw scores fits the output kind the sweep reads them as.

    Probabilities (``kind`` ``"probabilities"`` or ``"sigmoid"``) must lie in [0, 1] within
    :data:`PROBABILITY_TOLERANCE`; logits may be anything finite.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(N, K)`` raw model scores of one batch.
    kind : str
        The resolved kind (see :func:`to_probabilities`).
    where : str
        Which batch, for the message.
    automatic : bool
        Whether the kind was decided from the first batch (``output="auto"``).

    Raises
    ------
    ValueError
        Naming the batch, the values found and the fix.

    Examples
    --------
    >>> check_scores(np.array([[0.2, 0.8]]), "probabilities", "batch 1", automatic=True)
    >>> check_scores(np.array([[-0.1, 1.1]]), "probabilities", "batch 1", automatic=False)
    Traceback (most recent call last):
    ...
    ValueError: the model returned scores from -0.1 to 1.1 in batch 1, outside [0, 1] ...
    """
    if kind not in ("probabilities", "sigmoid"):
        return
    values = np.asarray(scores, np.float32)
    if kind == "sigmoid":
        values = values[:, :1]
    lo, hi = float(values.min()), float(values.max())
    tol = PROBABILITY_TOLERANCE
    if lo >= -tol and hi <= 1.0 + tol:
        return
    if automatic:
        advice = (
            "the first batch's scores all lay in [0, 1], so output='auto' read them as "
            "probabilities; if the model returns logits or other unbounded scores, pass "
            "output='logits'"
        )
    else:
        advice = (
            "output='probabilities' says the model returns probabilities; if it returns "
            "logits, pass output='logits'"
        )
    raise ValueError(
        f"the model returned scores from {lo:.4g} to {hi:.4g} in {where}, outside [0, 1] "
        f"(tolerance {tol:g}): {advice}"
    )


def check_input_shape(got, expected, preprocessed):
    """Raise :class:`InputShapeError` when a batch does not fit the declared input shape."""
    expected = tuple(expected)
    if len(got) == len(expected) and all(
        e is None or int(e) == int(g) for g, e in zip(got[1:], expected[1:], strict=True)
    ):
        return
    where = "after preprocess, the batch" if preprocessed else "the occluded batch"
    head = (
        f"the image does not fit the model: {where} has shape {tuple(got)} but the model "
        f"expects {expected} (None = any). "
    )
    raise InputShapeError(head + _shape_advice(tuple(got), expected, preprocessed))


def _shape_advice(got, expected, preprocessed):
    """The fix for the mistake actually made: channels, or height and width."""
    # A grey model may be declared (None, H, W): its images have one channel.
    want_c = expected[3] if len(expected) == 4 else (1 if len(expected) == 3 else None)
    got_c = got[3] if len(got) == 4 else 1
    want_hw = expected[1:3] if len(expected) >= 3 else (None, None)
    if want_c is not None and got_c != want_c:
        fixes = {
            (1, 3): "a grey image for an RGB model: repeat the channel, e.g. "
            "np.repeat(img[..., None], 3, -1) for an (H, W) array (or "
            'Image.open(path).convert("RGB"))',
            (3, 1): "an RGB image for a grey model: average the channels, e.g. "
            'img.mean(-1, keepdims=True) (or Image.open(path).convert("L"))',
            (4, 3): "an RGBA image (a PNG with transparency?) for an RGB model: drop the alpha "
            'channel, e.g. Image.open(path).convert("RGB") or img[..., :3]',
            (4, 1): 'an RGBA image for a grey model: Image.open(path).convert("L")',
        }
        fix = fixes.get(
            (got_c, want_c),
            f"convert the image to {want_c} channels (Pillow's Image.convert, or numpy)",
        )
        return f"The channels differ ({got_c} given, {want_c} expected): {fix}."
    if any(e is not None and int(e) != int(g) for g, e in zip(got[1:3], want_hw, strict=False)):
        size = tuple("?" if e is None else int(e) for e in want_hw)
        fix = (
            f"The size differs: the model takes {size[0]} x {size[1]} images. Load the photo at "
            f"that size, e.g. keras.utils.load_img(path, target_size={size}), or pass "
            f"resize=True to resize it to the model's input (antialiased)"
        )
        if preprocessed:
            fix += ", or check that preprocess keeps the image's size"
        return fix + "."
    return "Pass an image (or a preprocess) that gives the model's input shape."
