"""A re-run that changes what is true of done images relabels their rows without sweeping
them again: labels given anew, and class sub-folders added (each class's index moves)."""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.models_dataset import brightness_model, counting_model
from tests.helpers.store_writer import banded

pytest.importorskip("zarr")
pytest.importorskip("pyarrow")

PARAMS = {"patch_size": 4, "stride": 4, "baseline": "black", "progress": False}


def test_labels_given_on_a_re_run_reach_the_rows_without_a_sweep(tmp_path):
    # They were ignored: the rows kept label -1 and correct None.
    store, data = tmp_path / "s", banded(4)
    first = ow.sweep_dataset(brightness_model(), data, store=store, **PARAMS)
    assert first.table["label"].tolist() == [-1] * 4
    predicted = first.table["predicted"].tolist()
    labels = [predicted[0], 1 - predicted[1], predicted[2], 1 - predicted[3]]
    model, calls = counting_model()
    ds = ow.sweep_dataset(model, data, labels=labels, store=store, **PARAMS)
    assert sum(calls) == 0  # no position swept again
    table = ds.table.set_index("id").loc[["0", "1", "2", "3"]]
    assert table["label"].tolist() == labels
    assert table["correct"].tolist() == [True, False, True, False]
    for i in range(4):
        base = ds.result(str(i)).base_probabilities
        assert table["true_probability"].iloc[i] == pytest.approx(float(base[labels[i]]))
        np.testing.assert_array_equal(
            ds.result(str(i)).probabilities, first.result(str(i)).probabilities
        )
    assert len(ow.open_dataset(store).table) == 4  # replaced, not added


def test_a_class_folder_added_moves_the_old_rows_labels_with_it(tmp_path):
    # The classes are the sorted sub-folders: adding "aardvark" moves every class up one, and
    # the old rows kept their old numbers (the confusion table then named the wrong classes).
    from PIL import Image

    root, store, data = tmp_path / "data", tmp_path / "s", banded(3)
    for name, image in zip(["cat", "dog", "dog"], data, strict=True):
        (root / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / name / f"{len(list((root / name).iterdir()))}.png")
    ow.sweep_dataset(brightness_model(), root, store=store, **PARAMS)
    (root / "aardvark").mkdir()
    Image.fromarray(banded(4)[3]).save(root / "aardvark" / "0.png")
    ds = ow.sweep_dataset(brightness_model(), root, store=store, **PARAMS)
    names = ds.folder_classes
    assert names == ["aardvark", "cat", "dog"]
    by_id = ds.table.set_index("id")["label"]
    assert {i: names[int(label)] for i, label in by_id.items()} == {
        "aardvark/0.png": "aardvark",
        "cat/0.png": "cat",
        "dog/0.png": "dog",
        "dog/1.png": "dog",
    }
