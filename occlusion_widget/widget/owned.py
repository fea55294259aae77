"""Traits only the kernel writes: Python's writes to them are refused once a widget is made.

Both the occlusion widget (:mod:`.synced`) and the gallery's grid (:mod:`.gallery_grid`) have
traits the kernel fills from a sweep or a query (``py -> js`` in docs/protocol.md). Set from
Python they would contradict what is behind them, so :class:`KernelOwned` refuses such a write
with :class:`KernelOwnedError` and the advice its class gives; the kernel itself writes them
with ``set_trait``, and the browser's writes (ipywidgets' ``set_state``) go through.
"""

from __future__ import annotations

from typing import ClassVar

import traitlets

__all__ = ["KernelOwned", "KernelOwnedError"]


class KernelOwnedError(traitlets.TraitError, AttributeError):
    """Python set a trait that only the kernel writes (what it shows would contradict the
    sweep behind it); the message says what to do instead."""


class KernelOwned:
    """Mixin before ``anywidget.AnyWidget``: ``_kernel_owned`` maps a trait to the advice
    given when Python sets it.

    Examples
    --------
    >>> class Shown(KernelOwned, traitlets.HasTraits):
    ...     _kernel_owned = {"total": "it counts the rows: refresh() instead"}
    ...     total = traitlets.Int(0)
    >>> shown = Shown()
    >>> shown.set_trait("total", 3)  # the kernel's own write
    >>> shown.total = 4
    Traceback (most recent call last):
    ...
    occlusion_widget.widget.owned.KernelOwnedError: total cannot be set from Python: it counts the rows: refresh() instead
    """  # noqa: E501

    _kernel_owned: ClassVar[dict[str, str]] = {}
    #: Set once the widget is made: writes made while it is built go through.
    _owned_guard = False

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        object.__setattr__(self, "_owned_guard", True)

    def __setattr__(self, name: str, value: object) -> None:
        advice = self._kernel_owned.get(name)
        if advice is not None and self._owned_guard:
            raise KernelOwnedError(f"{name} cannot be set from Python: {advice}")
        super().__setattr__(name, value)
