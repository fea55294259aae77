"""Shared test helpers: batch sizes, the shared assets folder; the tiny models live in models.py."""

from __future__ import annotations

import os
from pathlib import Path

BATCH_SIZES = (1, 2, 3, 64)


def shared_assets() -> Path | None:
    """The shared test assets folder, or None when this machine does not have it."""
    env = os.environ.get("OCCLUSION_WIDGET_ASSETS")
    path = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "assets"
    return path if path.is_dir() else None


# The tiny models live in tests/helpers/models.py; re-exported for older imports.
from tests.helpers.models import Recorder, overlap, region_model, softmax  # noqa: E402

__all__ = [
    "BATCH_SIZES",
    "Recorder",
    "overlap",
    "region_model",
    "run_on_backend",
    "shared_assets",
    "softmax",
]


def run_on_backend(backend: str, script: str, ok: str, timeout: float) -> None:
    """Run ``script`` in a fresh Python with ``KERAS_BACKEND=backend`` (Keras picks its backend
    once per process) and require it to end well and print ``ok``; skip when the backend's
    package is not installed. ``BACKEND`` is defined for the script."""
    import importlib.util
    import subprocess
    import sys

    import pytest

    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed: pip install {backend} to test that backend")
    env = dict(os.environ, KERAS_BACKEND=backend)
    root = Path(__file__).resolve().parents[2]
    # The checkout comes first: the package under test, and tests.helpers for the models.
    paths = [str(root), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    code = f"BACKEND = {backend!r}\n" + script
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ok in proc.stdout, proc.stdout[-3000:]
