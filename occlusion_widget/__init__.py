"""occlusion_widget: see why an image classifier decided, by hiding parts of the image.

The engine (:func:`occlusion_map`) slides a patch over an image, runs the model on every occluded
copy and keeps every class probability at every position. :class:`OcclusionWidget` shows the
result in Jupyter as clickable heatmaps whose cells show the exact image the model received.
"""

from . import _quiet as _quiet  # first: keeps TensorFlow's start-up logs out of notebooks
from . import demo as demo
from . import labels as labels
from ._version import __version__
from .compat import OcclusionSensitivity, vizualize
from .dataset import OcclusionDataset, open_dataset, sweep_dataset
from .engine import ModelError, OcclusionResult, iter_occlusion, occlusion_map
from .engine.fidelity import FidelityCurves, fidelity
from .plot import plot_class_map, visualize
from .plot.compare import compare
from .widget import GalleryWidget, OcclusionWidget, export_html

__all__ = [
    "FidelityCurves",
    "GalleryWidget",
    "ModelError",
    "OcclusionDataset",
    "OcclusionResult",
    "OcclusionSensitivity",
    "OcclusionWidget",
    "__version__",
    "compare",
    "export_html",
    "fidelity",
    "iter_occlusion",
    "labels",
    "occlusion_map",
    "open_dataset",
    "plot_class_map",
    "sweep_dataset",
    "visualize",
    "vizualize",
]
