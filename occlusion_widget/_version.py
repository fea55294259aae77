"""The package version, read from the installed metadata (its source of truth is package.json)."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path


def _read_version() -> str:
    try:
        return metadata.version("occlusion_widget")
    except metadata.PackageNotFoundError:
        # Running from a source checkout that was never installed.
        package_json = Path(__file__).resolve().parents[1] / "package.json"
        if package_json.is_file():
            return str(json.loads(package_json.read_text())["version"])
        return "0.0.0+unknown"


__version__ = _read_version()
"""The package version: defined once, in ``package.json``.

Examples
--------
>>> import occlusion_widget as ow
>>> ow.__version__.count(".") >= 2
True
"""
