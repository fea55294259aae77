"""The pure occlusion engine: numpy and Keras only, never the widget, matplotlib or the frontend.

Examples
--------
>>> from occlusion_widget.engine import make_grid
>>> make_grid((224, 224), 16, 8).total
729
"""

from .baselines import BASELINE_NAMES, make_baseline
from .fidelity import FidelityCurves, fidelity
from .grid import Grid, make_grid
from .images import load_image
from .model import ModelError, make_forward
from .multi import iter_occlusion_maps, occlusion_maps
from .params import DEFAULTS, SWEEP_PARAMETERS, SweepParams, validate_params
from .result import OcclusionResult
from .sweep import iter_occlusion, occlusion_map, run_sweep

__all__ = [
    "BASELINE_NAMES",
    "DEFAULTS",
    "SWEEP_PARAMETERS",
    "FidelityCurves",
    "Grid",
    "ModelError",
    "OcclusionResult",
    "SweepParams",
    "fidelity",
    "iter_occlusion",
    "iter_occlusion_maps",
    "load_image",
    "make_baseline",
    "make_forward",
    "make_grid",
    "occlusion_map",
    "occlusion_maps",
    "run_sweep",
    "validate_params",
]
