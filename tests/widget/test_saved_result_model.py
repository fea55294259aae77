"""A widget showing a saved result never offers a control that can only fail (issue 18, item 2).

Without its model, Recompute and Probe are switched off with the reason (the ``_no_model``
trait the browser shows); with the model known (given to ``from_result``, kept from a live
``sweep_dataset``, or given to ``open_dataset``) they run it. A widget opened from the gallery
names its image: id, true label and prediction.
"""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.models_dataset import brightness_model
from tests.helpers.models_widget import IMAGE, NAMES, CountingModel, band_model

PARAMS = {"patch_size": 4, "stride": 4, "baseline": "black", "progress": False}


def banded(n=4, size=12):
    """Images whose brightest horizontal band decides ``brightness_model``'s class."""
    out = np.full((n, size, size, 3), 40, np.uint8)
    for i in range(n):
        out[i, (i % 3) * 4 : (i % 3) * 4 + 4] = 200
    return out


def logits_model(batch):
    """``brightness_model``'s scores before its softmax: logits, read by output="auto"."""
    x = np.asarray(batch, np.float32)
    bands = np.array_split(np.arange(x.shape[1]), 3)
    return 8.0 * np.stack([x[:, b].mean(axis=(1, 2, 3)) for b in bands], axis=1) - 2.0


def test_without_its_model_a_saved_result_says_why_recompute_and_probe_are_off() -> None:
    result = ow.occlusion_map(band_model, IMAGE, patch_size=8, stride=8, progress=False)
    w = ow.OcclusionWidget.from_result(result, labels=NAMES)
    assert w._no_model.startswith("no model to run") and "model=" in w._no_model
    assert "\n" not in w._no_model
    with pytest.raises(RuntimeError, match="no model to run"):
        w.recompute(stride=4)
    with pytest.raises(RuntimeError, match="no model to probe"):
        w.probe((0, 0, 8, 8))


def test_with_its_model_a_saved_result_probes_and_recomputes_and_runs_nothing_before() -> None:
    result = ow.occlusion_map(band_model, IMAGE, patch_size=8, stride=8, progress=False)
    model = CountingModel()
    w = ow.OcclusionWidget.from_result(result, labels=NAMES, model=model)
    assert w._no_model == "" and w.status == "done" and model.calls == 0
    np.testing.assert_array_equal(w.result.probabilities, result.probabilities)
    # A probe on a cell's patch is that cell, as in a live widget.
    box = result.box(1, 2)
    np.testing.assert_allclose(w.probe(box), result.probabilities[1, 2], atol=1e-6)
    w.recompute(stride=4)
    assert w.wait(10) == "done" and w.result.rows == result.rows * 2 - 1


def test_a_gallery_from_a_live_sweep_gives_its_widgets_the_model_and_names_the_image() -> None:
    ds = ow.sweep_dataset(brightness_model(), banded(), labels=[0, 2, 2, -1], **PARAMS)
    g = ow.GalleryWidget(ds, labels=["top", "middle", "bottom"])
    w = g.open_image("1")
    assert w._no_model == ""
    row = ds.table[ds.table["id"] == "1"].iloc[0]
    assert w.caption == (
        f"image 1 · true bottom · predicted middle (p {row['predicted_probability']:.3f})"
    )
    assert g.open_image("3").caption.startswith("image 3 · true unknown · predicted top")
    stored = ds.result("1")
    # The stored maps are float16: a probe of a cell's patch matches them to that precision.
    np.testing.assert_allclose(w.probe(stored.box(1, 1)), stored.probabilities[1, 1], atol=2e-3)


def test_a_probe_reads_a_dataset_models_logits_as_its_sweep_did() -> None:
    # The store keeps probabilities, not how the scores were read: output="auto" decides again.
    ds = ow.sweep_dataset(logits_model, banded(2), **PARAMS)
    w = ow.GalleryWidget(ds).open_image("0")
    stored = ds.result("0")
    probe = w.probe(stored.box(0, 0))
    assert probe.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(probe, stored.probabilities[0, 0], atol=2e-3)


def test_open_dataset_takes_the_model_that_made_the_store(tmp_path) -> None:
    pytest.importorskip("zarr")
    pytest.importorskip("pyarrow")
    ow.sweep_dataset(brightness_model(), banded(2), store=tmp_path / "s", **PARAMS)
    stored_only = ow.GalleryWidget(ow.open_dataset(tmp_path / "s")).open_image("0")
    assert stored_only._no_model.startswith("no model to run")
    runnable = ow.GalleryWidget(ow.open_dataset(tmp_path / "s", model=brightness_model()))
    assert runnable.open_image("0")._no_model == ""


def test_open_dataset_asks_for_the_preprocess_the_store_was_swept_with(tmp_path) -> None:
    pytest.importorskip("zarr")
    pytest.importorskip("pyarrow")

    def halve(x):
        return x / 2

    store = tmp_path / "s"
    ow.sweep_dataset(brightness_model(), banded(2), store=store, preprocess=halve, **PARAMS)
    with pytest.raises(ValueError, match=r"swept with preprocess 'test_open_dataset.*halve'"):
        ow.open_dataset(tmp_path / "s", model=brightness_model())
    ds = ow.open_dataset(tmp_path / "s", model=brightness_model(), preprocess=halve)
    assert ds.preprocess is halve
    with pytest.raises(TypeError, match="preprocess= is used with model="):
        ow.open_dataset(tmp_path / "s", preprocess=halve)
