"""Checks on what callers pass, shared by the session and the widget: unknown keywords, top_k,
labels against a model's declared class count, the caller's image copied, errors as one line."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..engine.model import check_not_a_builder
from ..engine.params import reject_unknown

__all__ = [
    "check_model",
    "check_top_k",
    "declared_num_classes",
    "describe_error",
    "display_instead",
    "own_copy",
    "reject_unknown",
]


def describe_error(exc: BaseException) -> str:
    """One readable line: the exception's type and message, never a traceback.

    Examples
    --------
    >>> describe_error(ValueError("patch_size (99, 99)\\n is too big"))
    'ValueError: patch_size (99, 99) is too big'
    """
    text = " ".join(str(exc).split())
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    cause = exc.__cause__
    # ModelError already names the model's exception; other wrappers may hide it in the chain.
    if cause is not None and type(cause).__name__ not in message:
        message += f" (caused by {type(cause).__name__}: {' '.join(str(cause).split())})"
    return message


def check_top_k(k: Any) -> int:
    """``k`` as an int of at least 1; ValueError otherwise.

    Examples
    --------
    >>> check_top_k(3)
    3
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top_k must be an int of at least 1; got {k!r}")
    return int(k)


def declared_num_classes(model: Any) -> int | None:
    """The class count a single-output Keras model declares, or None when it cannot be known
    before the model runs (plain callables, several outputs, an unknown last dimension).

    Examples
    --------
    >>> declared_num_classes(lambda batch: batch) is None
    True
    """
    try:
        shape = model.output_shape
    except Exception:  # plain callables, and Keras models that were never built
        return None
    if not isinstance(shape, tuple) or not shape or not isinstance(shape[-1], int):
        return None
    # One sigmoid unit is read as two classes, [1 - p, p], as the engine does.
    return 2 if shape[-1] == 1 else shape[-1]


def own_copy(image: Any) -> Any:
    """A copy of an array-like or PIL image (paths pass through): a sweep reading it later in
    another thread cannot see the caller change it (Keras ``preprocess_input`` changes float32
    arrays in place).

    Examples
    --------
    >>> a = np.zeros(3)
    >>> own_copy(a) is a
    False
    """
    if image is None or isinstance(image, (str, os.PathLike)):
        return image
    if hasattr(image, "mode") and hasattr(image, "copy") and not isinstance(image, np.ndarray):
        return image.copy()  # a PIL image
    if hasattr(image, "detach") and hasattr(image, "cpu"):  # a torch tensor
        image = image.detach().cpu().numpy()
    try:
        return np.array(image, copy=True)
    except Exception:  # not array-like: the engine's validation says what is wrong with it
        return image


def display_instead(image: Any, result_shape: tuple[int, ...]) -> np.ndarray:
    """Our copy of an image shown instead of a result's own, which must match its size.

    Examples
    --------
    >>> display_instead(np.zeros((4, 4, 3), np.uint8), (4, 4)).shape
    (4, 4, 3)
    """
    shape = np.asarray(image).shape
    if shape[:2] != tuple(result_shape[:2]):
        raise ValueError(
            f"image has shape {shape} but the result was computed on an image of "
            f"height and width {tuple(result_shape[:2])}"
        )
    return own_copy(image)


def check_model(model: Any, hint: str = "") -> None:
    """Refuse a model that cannot be called, saying what it was (``hint`` adds advice).

    Examples
    --------
    >>> check_model(lambda batch: batch)
    >>> check_model("mobilenet")
    Traceback (most recent call last):
    ...
    TypeError: model must be a keras.Model or a callable batch -> scores; got str
    """
    if not callable(model):
        raise TypeError(
            f"model must be a keras.Model or a callable batch -> scores; "
            f"got {type(model).__name__}{hint}"
        )
    check_not_a_builder(model)
