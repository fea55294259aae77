"""Session-wide test settings shared by the unit, notebook and browser tests."""

from __future__ import annotations

import os
import shutil
import tempfile

_OWN_CACHE: str | None = None


def pytest_configure(config) -> None:
    # One demo-model cache for the whole run, outside the user's home: notebooks, Jupyter
    # kernels started by the browser tests and in-process tests all train the model once.
    global _OWN_CACHE
    if "OCCLUSION_WIDGET_CACHE" not in os.environ:
        _OWN_CACHE = tempfile.mkdtemp(prefix="occlusion-widget-test-cache-")
        os.environ["OCCLUSION_WIDGET_CACHE"] = _OWN_CACHE
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_unconfigure(config) -> None:
    if _OWN_CACHE is not None:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)
