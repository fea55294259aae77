"""Shipped class names and the label forms accepted everywhere."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import occlusion_widget as ow
from tests.helpers.engine_helpers import shared_assets


def test_imagenet_names_are_shipped_and_in_order():
    names = ow.labels.imagenet()
    assert len(names) == 1000 and len(set(ow.labels.imagenet_wordnet_ids())) == 1000
    assert names[0] == "tench" and names[386] == "African_elephant" and names[101] == "tusker"
    assert names[999] == "toilet_tissue"


def test_shipped_file_matches_the_keras_one_when_available():
    assets = shared_assets()
    if assets is None:
        pytest.skip("the shared assets folder (../shared/assets) is not on this machine")
    keras_file = assets / "keras_home" / "models" / "imagenet_class_index.json"
    ours = Path(ow.labels.__file__).parent / "data" / "imagenet_class_index.json"
    assert json.loads(ours.read_text()) == json.loads(keras_file.read_text())


def test_no_network_needed(monkeypatch):
    monkeypatch.setitem(os.environ, "KERAS_HOME", "/nonexistent")
    ow.labels._imagenet_index.cache_clear()
    assert ow.labels.imagenet()[1] == "goldfish"


def test_cifar10():
    assert ow.labels.cifar10() == [
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ]  # fmt: skip


def test_as_list_forms():
    assert ow.labels.as_list(None, 2) == ["class 0", "class 1"]
    assert ow.labels.as_list(["a", "b"], 2) == ["a", "b"]
    assert ow.labels.as_list(("a", "b"), 2) == ["a", "b"]
    assert ow.labels.as_list({0: "zero"}, 2) == ["zero", "class 1"]
    assert ow.labels.as_list("cifar10", 10)[8] == "ship"
    assert len(ow.labels.as_list("imagenet", 1000)) == 1000


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        (["a", "b", "c"], ValueError, r"got 3 labels for a model with 2 classes"),
        ("imagenet", ValueError, r"got 1000 labels for a model with 2 classes"),
        ({5: "x"}, ValueError, r"class 5 is out of range"),
        ({"a": "x"}, TypeError, r"keys must be class indices"),
        ("mnist", ValueError, r"unknown label set 'mnist'"),
        (42, TypeError, r"labels must be a list"),
    ],
)
def test_bad_labels(labels, error, match):
    with pytest.raises(error, match=match):
        ow.labels.as_list(labels, 2)
