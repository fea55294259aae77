"""Shared test helpers: batch sizes, the shared assets folder; the tiny models live in models.py."""

from __future__ import annotations

import os
from pathlib import Path

BATCH_SIZES = (1, 2, 3, 64)


def shared_assets() -> Path | None:
    """The shared test assets folder, or None when this machine does not have it."""
    env = os.environ.get("OCCLUSION_WIDGET_ASSETS")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "assets"
    return path if path.is_dir() else None


# The tiny models moved to tests/models.py; re-exported for older imports.
from models import Recorder, overlap, region_model, softmax  # noqa: E402

__all__ = ["BATCH_SIZES", "Recorder", "overlap", "region_model", "shared_assets", "softmax"]
