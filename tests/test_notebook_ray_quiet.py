"""The Ray cell of notebooks/dataset_debugging.ipynb shows no red stderr box (issue 18 item 12).

Only the notebook's Ray path runs here, in a fresh kernel as Jupyter runs it: its set-up cells,
the local sweep the Ray cell compares against (on the first 4 images, to keep it short) and the
Ray cell itself, each as written in the notebook.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "dataset_debugging.ipynb"
ASSETS = Path(os.environ.get("OCCLUSION_WIDGET_ASSETS") or ROOT.parent / "shared" / "assets")
#: What each cell the Ray cell needs contains: assets, imports, the images, the local sweep.
NEEDED = ("def find_assets", "import occlusion_widget as ow", "true_labels =", "STORE =")
RAY_CELL = 'backend="ray"'
FEWER_IMAGES = "images, true_labels = images[:4], true_labels[:4]"


def ray_path(notebook):
    """The notebook's cells on the way to its Ray sweep, and the Ray cell."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    cells = []
    for marker in NEEDED:
        found = [cell for cell in code if marker in cell.source]
        assert len(found) == 1, f"no single cell of {NOTEBOOK.name} holds {marker!r}"
        cells.append(found[0])
        if marker == "true_labels =":
            cells.append(nbformat.v4.new_code_cell(FEWER_IMAGES))
    ray_cells = [cell for cell in code if RAY_CELL in cell.source]
    assert len(ray_cells) == 1, f"no single Ray cell in {NOTEBOOK.name}"
    return cells, ray_cells[0]


@pytest.mark.slow
def test_the_ray_cell_writes_nothing_to_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    if ASSETS.is_dir():
        monkeypatch.setenv("OCCLUSION_WIDGET_ASSETS", str(ASSETS))
        monkeypatch.setenv("KERAS_HOME", str(ASSETS / "keras_home"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells, ray_cell = ray_path(notebook)
    run = nbformat.v4.new_notebook(metadata=notebook.metadata)
    run.cells = [*cells, ray_cell]
    client = nbclient.NotebookClient(
        run,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    outputs = run.cells[-1].outputs
    stderr = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    assert stderr == "", f"the Ray cell shows a stderr box:\n{stderr[:3000]}"
    stdout = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    if "Ray did not start here" in stdout:
        pytest.skip(f"Ray did not start on this machine, so its sweep was not checked: {stdout}")
    assert "Ray and local agree within 1e-6: True" in stdout, stdout
