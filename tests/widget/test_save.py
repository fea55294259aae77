"""w.save(): the current view drawn with matplotlib in the browser's colours."""

from __future__ import annotations

import pytest

from occlusion_widget import OcclusionWidget
from tests.helpers.models_widget import IMAGE, NAMES, band_model


@pytest.fixture
def widget() -> OcclusionWidget:
    w = OcclusionWidget(band_model, IMAGE, labels=NAMES, patch_size=8, stride=4, top_k=3)
    assert w.wait(10) == "done"
    yield w
    w.close()


# -- save ------------------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["sensitivity", "probability", "predicted_class"])
def test_save_writes_a_png_of_the_current_view(widget: OcclusionWidget, tmp_path, view) -> None:
    widget.view = view
    widget.selected = (3, 3)
    path = widget.save(tmp_path / f"{view}.png", dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_leaves_matplotlib_alone(widget: OcclusionWidget, tmp_path) -> None:
    # Issue 10, defect 6: save() switched the global backend to Agg, and the notebook's next
    # plt.plot cell showed nothing.
    import matplotlib
    import matplotlib.pyplot as plt

    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    widget.save(tmp_path / "view.svg")
    assert matplotlib.get_backend() == backend and plt.get_fignums() == figures
    assert (tmp_path / "view.svg").read_bytes().lstrip().startswith(b"<?xml")


def test_save_refuses_a_suffix_it_cannot_write(widget: OcclusionWidget, tmp_path) -> None:
    # Issue 10, defect 9: save("x.ipynb") wrote PNG bytes into a notebook.
    with pytest.raises(ValueError, match=r"\.png"):
        widget.save(tmp_path / "view.ipynb")
    assert not (tmp_path / "view.ipynb").exists()
