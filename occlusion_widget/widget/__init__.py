"""The kernel side of ``docs/protocol.md``: the widgets and what they sync and answer.

:class:`OcclusionWidget` (:mod:`.widget`) shows a :class:`~occlusion_widget.session.SweepSession`:
its synced traits are declared in :mod:`.synced` with the trait types of :mod:`.traits`;
:mod:`.mirror` copies the session into them, :mod:`.messages` answers the browser's requests,
:mod:`.outputs` holds what is read out (selection, save, probe, page) and :mod:`.picture` the
static picture beside the live view. :mod:`.page_state` gathers the state the page builder
(:mod:`occlusion_widget.page`) renders; :func:`export_html` (:mod:`.export`) writes a widget or
a result as that page. :class:`GalleryWidget` (:mod:`.gallery`) browses a dataset sweep.
"""

from ..session.selection import Selection
from .export import export_html
from .gallery import GalleryWidget
from .synced import KernelOwnedError
from .traits import WidgetValueError
from .widget import OcclusionWidget

__all__ = [
    "GalleryWidget",
    "KernelOwnedError",
    "OcclusionWidget",
    "Selection",
    "WidgetValueError",
    "export_html",
]
