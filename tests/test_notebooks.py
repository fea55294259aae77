"""The notebooks in notebooks/: committed clean, and they run top to bottom offline.

Each notebook runs in a fresh kernel with ``notebooks/`` as its working directory, the way
Jupyter runs it. ``KERAS_HOME`` points at the shared assets' offline ImageNet weights when they
are there; without them the notebooks fall back to the built-in demo model, and the assertions
follow whichever path ran.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = (
    "quickstart.ipynb",
    "predicted_class_map.ipynb",
    "classroom.ipynb",
    "dataset_debugging.ipynb",
)
ASSETS = Path(os.environ.get("OCCLUSION_WIDGET_ASSETS") or ROOT.parent / "shared" / "assets")
KERAS_HOME = ASSETS / "keras_home"
IMAGENET_WEIGHTS = (
    KERAS_HOME / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
)
CIFAR_MODEL = ASSETS / "cifar10" / "cifar10_captum_lenet.keras"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# Generous: a cold kernel imports TensorFlow on a shared two-core machine.
CELL_TIMEOUT_S = 300


@pytest.fixture
def notebook_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The kernel inherits this process's environment: set what the notebooks read."""
    if KERAS_HOME.is_dir():
        monkeypatch.setenv("KERAS_HOME", str(KERAS_HOME))
    if ASSETS.is_dir():
        monkeypatch.setenv("OCCLUSION_WIDGET_ASSETS", str(ASSETS))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    return monkeypatch


def run_notebook(name: str, workdir: Path = NOTEBOOKS):
    """Execute ``notebooks/<name>`` in a fresh python3 kernel; a failing cell raises.

    ``workdir`` is the kernel's working directory: a notebook that writes files (the classroom's
    page) runs in a temporary one, so a test run leaves nothing in the checkout.
    """
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return notebook


def code_outputs(notebook) -> list:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def printed(notebook) -> str:
    """Everything the notebook printed to stdout, in order."""
    return "".join(
        out.text
        for out in code_outputs(notebook)
        if out.output_type == "stream" and out.name == "stdout"
    )


def widget_views(notebook) -> int:
    return sum(WIDGET_MIME in out.get("data", {}) for out in code_outputs(notebook))


def assert_counts_add_up(text: str) -> None:
    match = re.search(r"class counts sum to (\d+) of (\d+) positions", text)
    assert match, text
    assert match.group(1) == match.group(2)
    listed = [int(n) for n in re.findall(r"^class id \d+ \(.*\): count (\d+)$", text, re.M)]
    assert listed and sum(listed) == int(match.group(2))


def assert_reveal_beside_occlusion(text: str) -> None:
    """The predicted-class map notebook's reveal section, as its prose describes it."""
    assert "reveal image at this cell == only_patch: True" in text
    assert "reveal map at this cell == model(only the patch): True" in text
    found = {
        mode: re.search(
            rf"^{mode}: most frequent class (.+) \((\d+) of \d+\), (.+) at (\d+) positions$",
            text,
            re.M,
        )
        for mode in ("occlusion", "reveal")
    }
    assert all(found.values()), text
    occlusion, reveal = found["occlusion"], found["reveal"]
    unoccluded = occlusion.group(3)
    # Occlusion: the unoccluded class is still the most frequent; reveal: another class is,
    # and the unoccluded class wins at far fewer positions.
    assert occlusion.group(1) == unoccluded
    assert reveal.group(1) != unoccluded
    assert int(reveal.group(4)) < int(occlusion.group(4)) // 2


# -- committed without outputs -----------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_clean(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    # No saved widget state, no editor or execution metadata: only what a reader needs.
    assert set(notebook.metadata) <= {"kernelspec", "language_info"}
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    for cell in code_cells:
        assert cell.outputs == [], f"{name}: cell {cell.id} was committed with outputs"
        assert cell.execution_count is None, f"{name}: cell {cell.id} has an execution count"
    for cell in notebook.cells:
        assert not cell.metadata, f"{name}: cell {cell.id} carries metadata {dict(cell.metadata)}"


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_check_their_own_prose(name: str) -> None:
    # Every sentence that cites a result is computed and asserted in the notebook itself, so
    # running it (the tests below) fails when the prose stops being true.
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    asserts = sum(
        isinstance(node, ast.Assert)
        for cell in notebook.cells
        if cell.cell_type == "code"
        for node in ast.walk(ast.parse(cell.source))
    )
    assert asserts >= 5, f"{name} asserts {asserts} of the results its text cites"


def test_every_notebook_is_executed_here() -> None:
    # A notebook added to notebooks/ without a test here would rot unnoticed.
    assert sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


# -- executed ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_quickstart_runs(notebook_env: pytest.MonkeyPatch) -> None:
    notebook = run_notebook("quickstart.ipynb")
    text = printed(notebook)
    ranked = re.findall(r"^(\d)\. (\S+) \(", text, re.M)
    assert [rank for rank, _ in ranked] == ["1", "2", "3"], text
    if IMAGENET_WEIGHTS.exists():
        # Orders and ranks only: the offline weights' probabilities differ from Keras's own.
        assert [name for _, name in ranked] == ["African_elephant", "tusker", "Indian_elephant"]
        assert "widget sweep: done, 169 positions" in text
        assert "widget target: tusker" in text
        # Run All ends on the three elephants, with the pinned cell chosen for them.
        assert "widget target: African_elephant + tusker + Indian_elephant, pinned" in text
    assert "widget sweep: done" in text
    # The README and the quickstart show saving: the view written as a real picture.
    saved = re.search(r"^saved the widget's view: occlusion_map\.png, (\d+) KB$", text, re.M)
    assert saved and int(saved.group(1)) > 0, text
    assert widget_views(notebook) == 1
    # The seed figure for the top class, then one figure each for the 2nd and 3rd classes.
    figures = [out for out in code_outputs(notebook) if "image/png" in out.get("data", {})]
    assert len(figures) >= 4


@pytest.mark.slow
def test_predicted_class_map_runs(notebook_env: pytest.MonkeyPatch) -> None:
    notebook = run_notebook("predicted_class_map.ipynb")
    text = printed(notebook)
    assert_counts_add_up(text)
    assert "model(everything except the patch) == the map at this cell: True" in text
    assert "<- print this" in text
    assert widget_views(notebook) == 1
    assert_reveal_beside_occlusion(text)
    if CIFAR_MODEL.exists():
        assert "unoccluded prediction: ship" in text
        assert "the map says: airplane" in text
        assert "reveal: most frequent class airplane" in text
        assert "the all-grey image alone: ship" in text
    else:
        assert "CIFAR-10 assets not found" in text


@pytest.mark.slow
def test_classroom_runs(notebook_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    notebook = run_notebook("classroom.ipynb", workdir=tmp_path)
    text = printed(notebook)
    # The toy's answer is known: the most sensitive patch must sit on the shape.
    assert "peak inside the shape's box: True" in text
    assert "prediction: triangle" in text
    # Section 5's predicted-class map: flips where the patch bites into the shape, none elsewhere.
    on_shape = re.search(r"flips with the patch on the shape's box: (\d+) of", text)
    off_shape = re.search(r"flips with the patch off the shape's box: (\d+) of", text)
    assert on_shape and off_shape, text
    assert int(on_shape.group(1)) > 0 and int(off_shape.group(1)) == 0, text
    assert re.search(r"^\s+4\s+1 \|\s+61 x 61 = 3721 positions", text, re.M), text
    # Section 6's probe: hiding the tip leaves a trapezoid (a square to the model), hiding the
    # base leaves a smaller triangle; the prose says so.
    assert re.search(r"^hide the tip .* -> square \(", text, re.M), text
    assert re.search(r"^hide the base .* -> triangle \(", text, re.M), text
    # Section 7: occlusion and reveal both peak on the tip, not the base; grey alone is a square.
    largest = {}
    for mode in ("occlude", "reveal"):
        found = re.search(
            rf"^{mode}: largest (\S+) at patch .*on the tip: True, on the base: False$", text, re.M
        )
        assert found, text
        largest[mode] = float(found.group(1))
    assert largest["reveal"] < largest["occlude"]  # "the reveal map is fainter"
    assert "reveal says triangle only for windows on the tip: True" in text
    assert "the all-grey image: square" in text
    reveal_wins = re.search(r"^reveal, predicted class: (\{.*\}) of (\d+) positions$", text, re.M)
    assert reveal_wins, text
    wins = ast.literal_eval(reveal_wins.group(1))
    assert max(wins, key=wins.get) == "square" and wins["square"] > int(reveal_wins.group(2)) // 2
    # Section 8: every fill's peak on the shape; blur last at both patch sizes; 16 beats 8.
    assert len(re.findall(r"peak on the shape: True$", text, re.M)) == 8, text
    assert "peak on the shape: False" not in text
    assert "last among the 8-pixel patches: blur" in text
    assert "last among the 16-pixel patches: blur" in text
    assert "every 16-pixel map ranks above every 8-pixel map: True" in text
    # Section 9: one self-contained page, written where the notebook ran, needing no network.
    page = tmp_path / "classroom_page.html"
    assert page.is_file()
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in html  # its Content-Security-Policy forbids any request
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), "external resource"
    assert widget_views(notebook) == 2  # the circle (section 5) and the triangle (section 6)


@pytest.mark.slow
def test_dataset_debugging_runs(notebook_env: pytest.MonkeyPatch) -> None:
    notebook = run_notebook("dataset_debugging.ipynb")
    text = printed(notebook)
    assert "errors: 0" in text
    assert re.search(r"^most fragile image: \S+$", text, re.M), text
    # The sweep's tqdm bar, the single-image widget, then the gallery with the same image opened.
    assert widget_views(notebook) == 3
    fragile = re.search(r"^most fragile image: (\S+)$", text, re.M)
    opened = re.search(r"^gallery: \d+ images, opened: (\S+)$", text, re.M)
    assert fragile and opened and opened.group(1) == fragile.group(1), text
    if CIFAR_MODEL.exists():
        assert "20 images of (32, 32, 3), 10 classes" in text
    else:
        assert "CIFAR-10 assets not found" in text
    # Ray is an optional extra, and its start-up gives up after 30 s on an overloaded machine.
    if "Ray is not installed" not in text and "Ray did not start here" not in text:
        assert "Ray and local agree within 1e-6: True" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", ["quickstart.ipynb", "predicted_class_map.ipynb"])
def test_runs_without_assets(name: str, notebook_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No shared assets and an empty Keras cache: the notebooks still run on the demo model."""
    empty_assets = tmp_path / "no_assets"
    empty_assets.mkdir()
    notebook_env.setenv("OCCLUSION_WIDGET_ASSETS", str(empty_assets))
    notebook_env.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    notebook = run_notebook(name)
    text = printed(notebook)
    assert widget_views(notebook) == 1
    if name == "predicted_class_map.ipynb":
        assert "CIFAR-10 assets not found" in text
        assert_counts_add_up(text)
        assert_reveal_beside_occlusion(text)
        # The fallback section's words: grey alone is a square, and so is almost every window.
        assert "the all-grey image alone: square" in text
        assert "reveal: most frequent class square" in text
    elif "ImageNet weights unavailable" in text:  # no internet here: the demo model ran
        fallback = [line for line in text.splitlines() if "unavailable" in line]
        assert len(fallback) == 1
        assert "1. triangle" in text
        assert "widget sweep: done" in text


# TensorFlow's native start-up lines, which Jupyter shows as red stderr boxes.
NATIVE_LOG_MARKERS = (
    "cuInit",
    "cudart_stub",
    "use_unbounded_threadpool",
    "absl::InitializeLog",
    "cpu_feature_guard",
    "oneDNN custom operations",
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "quickstart.ipynb",
        "classroom.ipynb",
        "predicted_class_map.ipynb",
    ],
)
def test_notebooks_show_no_tensorflow_log_lines(
    name: str, notebook_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # As a user's kernel starts: nobody has set TF_CPP_MIN_LOG_LEVEL.
    notebook_env.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    # The classroom writes its page where it runs: not into the checkout.
    notebook = run_notebook(name, workdir=tmp_path if name == "classroom.ipynb" else NOTEBOOKS)
    stderr = "".join(
        out.text
        for out in code_outputs(notebook)
        if out.output_type == "stream" and out.name == "stderr"
    )
    found = [marker for marker in NATIVE_LOG_MARKERS if marker in stderr]
    assert not found, f"{name} shows TensorFlow log lines: {stderr[:2000]}"
