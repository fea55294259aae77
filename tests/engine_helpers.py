"""Tiny models with hand-computed answers, shared by the engine tests (not fixtures on purpose:
conftest.py belongs to the whole project)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

BATCH_SIZES = (1, 2, 3, 64)


def shared_assets() -> Path | None:
    """The shared test assets folder, or None when this machine does not have it."""
    env = os.environ.get("OCCLUSION_WIDGET_ASSETS")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "assets"
    return path if path.is_dir() else None


def region_model(top, left, height, width):
    """Class 1 = mean of a pixel region (image in [0, 1]), class 0 = its complement.

    Occluding with black removes exactly ``overlap / region area`` of class 1's probability, so
    every sensitivity is known by hand.
    """

    def model(batch):
        batch = np.asarray(batch)
        p = batch[:, top : top + height, left : left + width].mean(axis=(1, 2, 3))
        return np.stack([1.0 - p, p], axis=1)

    return model


def overlap(a, b):
    """Overlap area of two (top, left, height, width) boxes."""
    dy = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    dx = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(dy, 0) * max(dx, 0)


class Recorder:
    """A callable model that keeps every batch it was given (to check what the model saw)."""

    def __init__(self, model):
        self.model = model
        self.batches = []

    def __call__(self, batch):
        self.batches.append(np.array(batch, copy=True))
        return self.model(batch)
