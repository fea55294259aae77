"""The standalone page's Python side: what the HTML file carries (the browser test opens it)."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine import make_grid
from occlusion_widget.widget.export import export_html, page_html
from occlusion_widget.widget.page_state import export_reply

STATE = re.compile(r'<script type="application/json" id="ow-state">(.*?)</script>', re.S)


def _model(batch):
    p = np.asarray(batch)[:, :8, :8].mean(axis=(1, 2, 3))
    return np.stack([1.0 - p, p, 0.5 * np.ones_like(p)], axis=1) / (1.5)


@pytest.fixture(scope="module")
def result():
    image = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    return ow.occlusion_map(_model, image, patch_size=8, stride=4, progress=False)


def page_data(text: str) -> dict:
    match = STATE.search(text)
    assert match, "the page has no embedded state"
    return json.loads(match[1])


def decode(array: dict) -> np.ndarray:
    raw = base64.b64decode(array["base64"])
    return np.frombuffer(raw, np.dtype(array["dtype"]).newbyteorder("<")).reshape(array["shape"])


def synthetic_result(rows=27, cols=27, classes=1000, size=224):
    """A result of the MobileNetV2 quickstart's shape (224 px, patch 16, stride 8, 1000 classes)."""
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(classes), size=(rows, cols)).astype(np.float32)
    image = rng.random((size, size, 3)).astype(np.float32)
    grid = make_grid((size, size), 16, 8)
    assert (grid.rows, grid.cols) == (rows, cols)
    return ow.OcclusionResult(
        probabilities=probs,
        base_probabilities=probs[0, 0],
        computed=np.ones((rows, cols), bool),
        image=image,
        baseline=np.full_like(image, 0.5),
        value_range=(0.0, 1.0),
        patch_size=grid.patch_size,
        stride=grid.stride,
        tops=grid.tops,
        lefts=grid.lefts,
        baseline_name="gray",
        output_kind="probabilities",
    )


def test_the_page_carries_what_the_widget_shows_and_every_probability(result, tmp_path):
    path = export_html(result, tmp_path / "p.html", labels=["dark", "bright", "flat"])
    text = path.read_text(encoding="utf-8")
    data = page_data(text)
    traits = data["traits"]
    assert traits["labels"] == ["dark", "bright", "flat"]
    assert traits["target"] == result.base_class
    assert traits["status"] == "done"
    np.testing.assert_array_equal(decode(traits["target_map"]), result.probability())
    np.testing.assert_array_equal(decode(traits["base_probabilities"]), result.base_probabilities)
    grid = traits["grid"]
    assert (grid["rows"], grid["cols"]) == (result.rows, result.cols)
    np.testing.assert_array_equal(decode(grid["tops"]), result.grid.tops)
    # Every class probability, as float16: half precision keeps 11 significant bits.
    probs = decode(data["probabilities"]).astype(np.float32)
    np.testing.assert_allclose(probs, result.probabilities, rtol=2**-11, atol=2**-25)
    assert "any target can be chosen" in data["note"]
    # The frontend's entry is inline and nothing is loaded from elsewhere.
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|<img[^>]+src=", text)


def test_a_big_result_carries_top_k_and_chosen_maps_and_says_so():
    big = synthetic_result(rows=9, cols=9, classes=1000, size=80)
    text = page_html(big, labels="imagenet", max_probability_bytes=1000, targets=[207])
    data = page_data(text)
    assert data["probabilities"] is None
    target = data["traits"]["target"]
    assert list(data["target_maps"]) == [str(target), "207"]
    np.testing.assert_array_equal(decode(data["target_maps"]["207"]), big.probability(207))
    assert "top-5 classes" in data["note"] and "golden_retriever" in data["note"]


def test_the_mobilenet_sized_page_embeds_every_probability_and_stays_small():
    # 729 positions x 1000 classes as float16 are 1.46 MB; base64 makes that 1.94 MB, and the
    # two 224 x 224 RGBA images and the script add ~0.6 MB.
    text = page_html(synthetic_result(), labels="imagenet")
    data = page_data(text)
    assert data["probabilities"]["shape"] == [27, 27, 1000]
    size = len(text.encode("utf-8"))
    assert 2_000_000 < size < 3_500_000, f"the page is {size / 1e6:.2f} MB"


def test_labels_cannot_break_out_of_the_page(result):
    evil = "</script><script>window.__owx=1</script>"
    text = page_html(result, labels=[evil, "b", "c"], title="<b>cats</b>")
    assert text.count("</script>") == 2, "a label closed a script element"
    assert "<title>&lt;b&gt;cats&lt;/b&gt;</title>" in text
    assert page_data(text)["traits"]["labels"][0] == evil


def test_a_widget_exports_its_current_state(result):
    widget = ow.OcclusionWidget.from_result(result, labels=["dark", "bright", "flat"])
    try:
        widget.view = "probability"
        data = page_data(page_html(widget, target=2))
    finally:
        widget.close()
    assert data["traits"]["view"] == "probability"
    assert data["traits"]["target"] == 2
    np.testing.assert_array_equal(decode(data["traits"]["target_map"]), result.probability(2))


def test_the_browsers_export_request_gets_the_page_as_a_buffer(result):
    widget = ow.OcclusionWidget.from_result(result)
    try:
        reply, buffers = export_reply(widget, {"type": "export_html", "id": "v1-7"})
    finally:
        widget.close()
    assert reply == {
        "type": "reply",
        "id": "v1-7",
        "ok": True,
        "filename": "occlusion.html",
        "bytes": len(buffers[0]),
    }
    assert buffers[0].startswith(b"<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("source", "kwargs", "error", "match"),
    [
        ("cat.npz", {}, TypeError, r"OcclusionWidget or an OcclusionResult; got str"),
        (None, {"target": 5}, ValueError, r"target 5"),
        (None, {"view": "heat"}, ValueError, r"view must be one of"),
        # Each of these raised a bare Python error (or passed silently) before.
        (None, {"title": 123}, TypeError, r"title must be a string or None; got int 123"),
        (None, {"max_probability_bytes": None}, TypeError, r"max_probability_bytes must be"),
        (None, {"max_probability_bytes": -1}, ValueError, r"at least 0; got -1"),
        (None, {"targets": "x", "max_probability_bytes": 0}, TypeError, r"targets=\[3, 7\]"),
        (None, {"targets": [1.5], "max_probability_bytes": 0}, TypeError, r"got 1.5"),
        # A page holding every class refused nothing before; a top-k page refused class 9.
        (None, {"targets": [9]}, ValueError, r"target 9 is out of range: the model has 3"),
        (None, {"targets": [9], "max_probability_bytes": 0}, ValueError, r"target 9 is out"),
    ],
)
def test_bad_arguments_say_what_is_allowed(result, source, kwargs, error, match):
    with pytest.raises(error, match=match):
        page_html(result if source is None else source, **kwargs)


def test_a_widget_page_names_a_mistyped_option_and_the_allowed_ones(result, tmp_path):
    w = ow.OcclusionWidget.from_result(result)
    with pytest.raises(TypeError, match=r"to_html\(\) got .*'tittle' \(did you mean 'title'\?\)"):
        w.to_html(tmp_path / "page.html", tittle="cats")
    assert not (tmp_path / "page.html").exists()


@pytest.mark.parametrize("where", ["folder", "missing"])
def test_a_page_path_that_is_a_folder_or_in_no_folder_is_said_before_the_page_is_built(
    result, tmp_path, monkeypatch, where
):
    from occlusion_widget.widget import export

    built = []
    monkeypatch.setattr(export, "page_html", lambda *a, **k: built.append(1) or "<html/>")
    path = tmp_path if where == "folder" else tmp_path / "missing" / "page.html"
    error = IsADirectoryError if where == "folder" else FileNotFoundError
    says = (
        r"is a folder; give a file in it, such as .*occlusion\.html"
        if where == "folder"
        else (r"the folder .*missing' does not exist; create it first")
    )
    with pytest.raises(error, match=says):
        export_html(result, path)
    assert built == []  # nothing was built to be thrown away
