"""The package as a user installs it: one version, the bundle inside the wheel, never in git."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import occlusion_widget as ow

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "occlusion_widget" / "static" / "widget.js"


def _bundle_version(bundle: Path) -> str:
    """Import the built ESM bundle in node and read the version it exports."""
    source = base64.b64encode(bundle.read_bytes()).decode()
    script = (
        f'import("data:text/javascript;base64,{source}")'
        ".then((m) => process.stdout.write(JSON.stringify(m.version)))"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed; the frontend checks need Node 20")
    return path


def test_version_is_defined_once_in_package_json() -> None:
    package_json = json.loads((ROOT / "package.json").read_text())
    assert ow.__version__ == package_json["version"]


def test_python_and_bundle_report_the_same_version(node: str) -> None:
    assert BUNDLE.is_file(), "run `pip install -e .` (or `npm run build`) to build the bundle"
    assert _bundle_version(BUNDLE) == ow.__version__


def test_bundle_is_ignored_by_git() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "occlusion_widget/static"], cwd=ROOT, capture_output=True, text=True
    )
    assert tracked.stdout.strip() == ""
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "occlusion_widget/static/widget.js"], cwd=ROOT
    )
    assert ignored.returncode == 0


@pytest.mark.slow
def test_wheel_carries_the_bundle(tmp_path: Path, node: str) -> None:
    # Build from a copy without the bundle, so the wheel can only contain it if the hook built it.
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "static", "dist", "build", "*.egg-info", ".*cache"
        ),
    )
    (src / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("occlusion_widget-*.whl")
    assert f"occlusion_widget-{ow.__version__}-" in wheel.name
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "occlusion_widget/static/widget.js" in names
        assert "occlusion_widget/static/gallery.js" in names
        # Shipped data: class names, and the palettes save() shares with the bundle.
        assert "occlusion_widget/data/imagenet_class_index.json" in names
        assert "occlusion_widget/data/palettes.json" in names
        bundle = tmp_path / "widget.js"
        bundle.write_bytes(zf.read("occlusion_widget/static/widget.js"))
    assert _bundle_version(bundle) == ow.__version__
    # The frontend's unit tests and sources are not shipped.
    assert not [n for n in names if n.endswith(".test.ts")]
