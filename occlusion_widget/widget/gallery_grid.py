"""The browser half of the dataset gallery: the synced traits of one page and its controls.

:class:`~occlusion_widget.widget.gallery.GalleryWidget` fills the page; this file holds the trait
declarations and their checks only (``docs/protocol.md``, "The gallery").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from .._version import __version__
from ..dataset.query import SORT_KEYS, check_filters
from .owned import KernelOwned
from .traits import Array, Choice, Count, WidgetValueError, array_serialization

__all__ = ["KERNEL_OWNED", "MAX_PAGE_SIZE", "GalleryGrid", "image_caption"]

#: Most thumbnails on one page: the payload of a page stays under 200 x 16 KB at 64 px.
MAX_PAGE_SIZE = 200

_PAGE = "the gallery fills the page: change page, page_size, sort_by or filters instead"
#: The traits only the kernel writes (``py -> js``), and what to do instead.
KERNEL_OWNED = {
    "items": _PAGE,
    "thumbnails": _PAGE,
    "total_matching": "it counts the images that pass the filters: change filters instead",
    "total": "it counts the images swept without error: refresh() takes in new ones",
    "labels": "the class names are given when the gallery is made (labels=...)",
    "error": "the gallery sets it when a query or an opened image fails",
}


class _Bool(traitlets.Bool):
    """A bool that takes numpy's too (``descending=flags.any()``)."""

    def validate(self, obj: Any, value: Any) -> bool:
        return super().validate(obj, bool(value) if isinstance(value, np.bool_) else value)


class GalleryGrid(KernelOwned, anywidget.AnyWidget):
    """The browser half of :class:`GalleryWidget`: one page of thumbnails and the controls.

    Trait declarations and their checks only; :class:`GalleryWidget` fills the page.
    """

    _esm = Path(__file__).parent.parent / "static" / "gallery.js"
    _version = traitlets.Unicode(__version__).tag(sync=True)

    # -- py -> js: the page --------------------------------------------------------------------
    labels = traitlets.List().tag(sync=True)
    items = traitlets.List().tag(sync=True)
    thumbnails = Array("uint8", 4).tag(sync=True, **array_serialization)
    total_matching = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    # -- both ways: what the person chooses ----------------------------------------------------
    page = traitlets.Int(0).tag(sync=True)
    page_size = Count(24).tag(sync=True)
    sort_by = Choice(tuple(SORT_KEYS), "flip_fraction").tag(sync=True)
    descending = _Bool(True).tag(sync=True)
    filters = traitlets.Dict().tag(sync=True)
    selected = traitlets.Unicode(None, allow_none=True).tag(sync=True)

    #: Refused from Python once the grid is made (the gallery writes them with ``set_trait``).
    _kernel_owned = KERNEL_OWNED

    @traitlets.validate("page")
    def _valid_page(self, proposal: Any) -> int:
        if proposal.value < 0:
            raise WidgetValueError(
                f"page must be 0 or more (the first page is 0); got {proposal.value}"
            )
        return proposal.value

    @traitlets.validate("page_size")
    def _valid_page_size(self, proposal: Any) -> int:
        if proposal.value > MAX_PAGE_SIZE:
            raise WidgetValueError(
                f"page_size must be at most {MAX_PAGE_SIZE} (only one page travels to the "
                f"browser); got {proposal.value}"
            )
        return proposal.value

    @traitlets.validate("filters")
    def _valid_filters(self, proposal: Any) -> dict:
        try:
            return check_filters(proposal.value, len(self.labels), self.labels)
        except (TypeError, ValueError) as exc:
            raise WidgetValueError(str(exc)) from None


def image_caption(entry: dict, labels: list[str]) -> str:
    """The line above an opened image's widget: its id, true label and prediction.

    Examples
    --------
    >>> image_caption({"id": "cat/1.png", "true": 0, "predicted": 1, "confidence": 0.61},
    ...               ["cat", "dog"])
    'image cat/1.png · true cat · predicted dog (p 0.610)'
    """

    def name(cls: int | None) -> str:
        if cls is None:
            return "unknown"
        return labels[cls] if 0 <= cls < len(labels) else f"class {cls}"

    p = entry.get("confidence")
    confidence = "" if p is None else f" (p {p:.3f})"
    return (
        f"image {entry['id']} · true {name(entry.get('true'))} · "
        f"predicted {name(entry.get('predicted'))}{confidence}"
    )
