"""A notebook run by nbclient keeps the finished map, and nbconvert's HTML shows it offline.

Issue 18, item 1: a saved notebook showed only ``OcclusionWidget(...)`` wherever no kernel
runs. Here a small notebook (a numpy model, a 49-position sweep) is executed and saved by
nbclient as a CI job or ``jupyter execute`` would, then converted with ``jupyter nbconvert``.
"""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

CELLS = [
    textwrap.dedent(
        """
        import numpy as np
        import occlusion_widget as ow

        image = np.zeros((64, 64, 3), np.uint8)
        image[:, :32] = (220, 30, 30)
        image[:, 32:] = (30, 30, 220)

        def model(batch):  # class k = share of pixels whose channel k is bright
            x = np.asarray(batch, np.float32)
            z = np.stack([(x[..., 0] > 128).mean((1, 2)), (x[..., 2] > 128).mean((1, 2))], 1)
            e = np.exp(4 * z)
            return e / e.sum(axis=1, keepdims=True)
        """
    ).strip(),
    'w = ow.OcclusionWidget(model, image, labels=["red", "blue"])\nw',
    # What a person does next: look at the other class's probability map.
    'w.target = 1\nw.view = "probability"\nw.wait()',
    'w.save("final.png", dpi=100)',
]


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.mark.slow
def test_a_notebook_saved_by_nbclient_shows_the_finished_map_in_nbconvert_html(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": tmp_path}},
        # Saved as JupyterLab saves by default: outputs, no widget state. (With the state,
        # nbconvert draws the live widget with scripts it fetches from the internet.)
        store_widget_state=False,
    )
    client.execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)

    # The widget's output: the widget for a live page, and the finished map for the rest.
    (output,) = notebook.cells[1].outputs
    assert WIDGET_VIEW in output["data"], output
    assert "image/png" in output["data"], f"no picture beside the widget: {sorted(output.data)}"
    picture = output["data"]["image/png"]
    # The picture is the map as the notebook left it (target 1, probability view), the one
    # w.save() wrote in the last cell: not a placeholder, not the unfinished first sweep.
    final = (tmp_path / "final.png").read_bytes()
    np.testing.assert_array_equal(pixels(base64.b64decode(picture)), pixels(final))

    # nbconvert without widget state (JupyterLab's default when saving): the picture, inline.
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(path)],
        check=True,
        capture_output=True,
    )
    html = (tmp_path / "saved.html").read_text()
    images = re.findall(r'<img\s[^>]*src="data:image/png;base64,([^"]+)"', html)
    assert picture.replace("\n", "") in [i.replace("\n", "") for i in images], (
        "the map is not an inline image of the page"
    )
    # Nothing is left for a widget manager to fetch and draw in that output's place.
    assert WIDGET_VIEW not in html
