"""Every matplotlib drawing of the package, in the widget's colours (:mod:`..palette`).

``figures``: the notebook figures (:func:`visualize`, :func:`plot_class_map`); ``save``: the
widget's view written to a file (:func:`save_view`); ``cells``: grid cells -> pixels as the
browser paints them. matplotlib is imported inside the functions, so ``import occlusion_widget``
stays light and the engine never depends on it.
"""

from __future__ import annotations

from .figures import plot_class_map, visualize
from .save import save_view

__all__ = ["plot_class_map", "save_view", "visualize"]
