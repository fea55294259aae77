"""Exact incremental inference: per layer, compute only the region the occluder can change.

An occluded copy differs from the unoccluded image only inside the patch, and in each layer
only inside the patch's projective field. The clean image's tensors are computed once; for each
batch of positions, every layer with a box rule computes only its box (fixed shape per layer,
shifted inward at borders, so the batch stays compiled), and layers without one run on the whole
map from there on (Krypton, Nakandala et al., SIGMOD 2019, does the same in PyTorch).
"""

from .forward import (
    IncrementalForward,
    Unsupported,
    estimate_fraction,
    is_cached,
    make_incremental,
)
from .plan import Plan, layer_rule, make_plan

__all__ = [
    "IncrementalForward",
    "Plan",
    "Unsupported",
    "estimate_fraction",
    "is_cached",
    "layer_rule",
    "make_incremental",
    "make_plan",
]
