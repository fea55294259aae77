"""Old ways of calling the widget that still work, each with a DeprecationWarning that says
what to write instead (recorded in CHANGELOG.md)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["positional_deprecated"]

#: What ``from_result`` took by position after ``result`` in the first release.
_LEGACY_POSITIONAL = ("image", "labels")


def positional_deprecated(method: Callable[..., Any]) -> Callable[..., Any]:
    """Let ``from_result(result, image, labels)`` (the first release's call) still work, with
    a DeprecationWarning; the signature shown stays keyword-only (``functools.wraps``).

    Examples
    --------
    >>> import warnings
    >>> class Shown:
    ...     @classmethod
    ...     @positional_deprecated
    ...     def from_result(cls, result, *, image=None, labels=None):
    ...         return image
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     Shown.from_result("result", "picture")
    'picture'
    >>> caught[0].category.__name__
    'DeprecationWarning'
    """

    @functools.wraps(method)
    def accept(cls: Any, result: Any, *legacy: Any, **kwargs: Any) -> Any:
        if len(legacy) > len(_LEGACY_POSITIONAL):
            raise TypeError(
                f"from_result() takes the result and at most {len(_LEGACY_POSITIONAL)} more "
                f"values by position (image, labels); got {1 + len(legacy)}. Pass the rest by "
                f"name, e.g. top_k=3"
            )
        for name, value in zip(_LEGACY_POSITIONAL, legacy, strict=False):
            if name in kwargs:
                raise TypeError(f"from_result() got multiple values for {name!r}")
            kwargs[name] = value
        if legacy:
            names = " and ".join(_LEGACY_POSITIONAL[: len(legacy)])
            warnings.warn(
                f"passing {names} to OcclusionWidget.from_result by position is deprecated and "
                f"will stop working in a future release; pass them by name "
                f"(from_result(result, image=..., labels=...))",
                DeprecationWarning,
                stacklevel=2,
            )
        return method(cls, result, **kwargs)

    return accept
