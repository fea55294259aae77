"""The package as a user installs it: one version, the bundle inside the wheel, never in git."""

from __future__ import annotations

import base64
import importlib.util
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


def _missing_build_tool() -> str | None:
    """Why ``python -m build`` cannot run here, or None when it can."""
    if importlib.util.find_spec("build") is None:
        return (
            f"python -m build is not installed in {sys.executable}: "
            "pip install build (it is in the dev extra: pip install -e '.[dev]')"
        )
    return None


def test_missing_build_tool_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "build" else real_find_spec(name)
    )
    assert "pip install build" in (_missing_build_tool() or "")


@pytest.mark.slow
def test_wheel_carries_the_bundle(tmp_path: Path, node: str) -> None:
    missing = _missing_build_tool()
    if missing:
        pytest.fail(missing)
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
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(src)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, f"building the wheel failed:\n{build.stdout}\n{build.stderr}"
    (wheel,) = (tmp_path / "dist").glob("occlusion_widget-*.whl")
    assert f"occlusion_widget-{ow.__version__}-" in wheel.name
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "occlusion_widget/static/widget.js" in names
        assert "occlusion_widget/static/gallery.js" in names
        # Shipped data: class names, and the palettes save() shares with the bundle.
        assert "occlusion_widget/data/imagenet_class_index.json" in names
        assert "occlusion_widget/data/palettes.json" in names
        # The trained demo model: load_model() never trains, so the wheel must carry it.
        assert "occlusion_widget/data/demo_shapes.weights.h5" in names
        bundle = tmp_path / "widget.js"
        bundle.write_bytes(zf.read("occlusion_widget/static/widget.js"))
    assert _bundle_version(bundle) == ow.__version__
    # The frontend's unit tests and sources are not shipped.
    assert not [n for n in names if n.endswith(".test.ts")]
