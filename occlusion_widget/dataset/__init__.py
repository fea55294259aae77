"""Occlusion sweeps over a whole image set: a table of surprises, maps in a store, confusion.

Examples
--------
>>> from occlusion_widget.dataset import sweep_dataset, open_dataset
"""

from .api import open_dataset, sweep_dataset
from .convert import convert_store
from .dataset import OcclusionDataset
from .integrity import StoreCorruptError
from .ray_start import start_ray

__all__ = [
    "OcclusionDataset",
    "StoreCorruptError",
    "convert_store",
    "open_dataset",
    "start_ray",
    "sweep_dataset",
]
