"""Session-wide test settings shared by the unit, notebook and browser tests."""

from __future__ import annotations

import os


def pytest_configure(config) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
