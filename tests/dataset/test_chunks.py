"""The local backend packs the positions of several images into each model call
(dataset/chunks.py): every image's row and maps are still exactly its own sweep's, and a bad
image in a chunk is an error row that leaves the others alone."""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.dataset.store import quantize
from tests.helpers.models import Recorder
from tests.helpers.models_dataset import brightness_model

pytest.importorskip("pyarrow")

PARAMS = {"patch_size": 4, "stride": 4, "baseline": "black", "progress": False}


def data(n=7, size=12):
    """Seeded uint8 images: 12x12 at patch 4, stride 4 is 9 positions + 1 = 10 model inputs."""
    return np.random.default_rng(3).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def metric_columns(table):
    return table.drop(columns=["seconds"]).reset_index(drop=True)


def single_rows(model, images, indices):
    """What the one-image engine gives each image: its summary and its stored arrays."""
    from occlusion_widget.dataset.summary import summarize

    out = {}
    for i in indices:
        result = ow.occlusion_map(model, images[i], **PARAMS)
        out[str(i)] = (summarize(result), quantize(result.probabilities, result.num_classes))
    return out


def test_the_positions_of_several_images_share_each_model_call():
    recorder = Recorder(brightness_model())
    ow.sweep_dataset(recorder, data(5), batch_size=16, **PARAMS)
    # 5 images x 10 inputs = 50: 4 full calls, where one image per call took 5.
    assert [len(b) for b in recorder.batches] == [16, 16, 16, 16]


@pytest.mark.parametrize("batch_size", [None, 3, 10, 16, 64])
def test_rows_and_maps_are_each_images_own_sweep(batch_size):
    model, images = brightness_model(), data(7)
    ds = ow.sweep_dataset(model, images, store=None, batch_size=batch_size, **PARAMS)
    expected = single_rows(model, images, range(7))
    assert ds.table["id"].tolist() == [str(i) for i in range(7)]
    for _, row in ds.table.iterrows():
        summary, arrays = expected[row["id"]]
        for name, value in summary.items():
            assert row[name] == value or (value != value and row[name] != row[name]), name
        stored = ds.store.read_arrays(row["key"])
        np.testing.assert_array_equal(stored["probabilities"], arrays["probabilities"])
        np.testing.assert_array_equal(stored["image"], images[int(row["id"])])


def test_tables_do_not_depend_on_the_batch_size():
    model, images = brightness_model(), data(6)
    tables = [
        metric_columns(ow.sweep_dataset(model, images, batch_size=b, **PARAMS).table)
        for b in (1, 7, 30)
    ]
    assert tables[0].equals(tables[1]) and tables[0].equals(tables[2])


def test_bad_images_in_a_chunk_are_error_rows_and_the_others_are_unaffected(monkeypatch):
    from occlusion_widget.dataset import chunks

    monkeypatch.setattr(chunks, "CHUNK_IMAGES", 3)  # the bad images fall in several chunks
    good = data(6)
    nan_image = good[4].copy()
    nan_image[0, 0] = 1  # the model below returns NaN for this image only
    inner = brightness_model()

    def model(batch):
        scores = inner(batch)
        scores[np.asarray(batch)[:, 0, 0, 0] == 1] = np.nan
        return scores

    images = [good[0], np.zeros((8, 8, 3), np.uint8), good[1], good[2], nan_image, good[3]]
    images.insert(3, np.zeros((12, 12), np.uint8))  # gray: another number of channels
    assert not (good[:, 0, 0, 0] == 1).any()
    ds = ow.sweep_dataset(model, images, batch_size=16, **PARAMS)
    table = ds.table
    assert table["id"].tolist() == [str(i) for i in range(7)]  # rows keep the input order
    assert table["status"].tolist() == ["done", "error", "done", "error", "done", "error", "done"]
    errors = dict(zip(table["id"], table["error"], strict=True))
    assert "image is 8x8x3 but the dataset is 12x12x3" in errors["1"]
    assert "image is 12x12x1 but the dataset is 12x12x3" in errors["3"]
    assert "NaN" in errors["5"]
    expected = single_rows(inner, images, [0, 2, 4, 6])
    for _, row in table[table["status"] == "done"].iterrows():
        summary, arrays = expected[row["id"]]
        assert row["flip_fraction"] == summary["flip_fraction"]
        assert row["max_drop"] == summary["max_drop"]
        stored = ds.store.read_arrays(row["key"])
        np.testing.assert_array_equal(stored["probabilities"], arrays["probabilities"])


def test_a_model_that_fails_on_one_image_fails_only_that_row():
    inner = brightness_model()
    images = data(5)
    images[2, 5, 5] = [1, 2, 3]  # a marker no other image has

    def model(batch):
        if (np.asarray(batch)[:, 5, 5] == [1, 2, 3]).all(axis=-1).any():
            raise RuntimeError("cannot score this one")
        return inner(batch)

    ds = ow.sweep_dataset(model, images, batch_size=16, **PARAMS)
    assert ds.table["status"].tolist() == ["done", "done", "error", "done", "done"]
    assert "cannot score this one" in ds.table["error"][2]
    expected = single_rows(inner, images, [0, 1, 3, 4])
    for _, row in ds.table[ds.table["status"] == "done"].iterrows():
        assert row["flip_fraction"] == expected[row["id"]][0]["flip_fraction"]


def test_progress_reports_every_image(capsys):
    calls = []
    params = dict(PARAMS, progress=lambda done, total: calls.append((done, total)))
    ow.sweep_dataset(brightness_model(), data(5), batch_size=16, **params)
    assert calls == [(i, 5) for i in range(1, 6)]
    ow.sweep_dataset(brightness_model(), data(3), batch_size=16, **dict(PARAMS, progress=True))
    assert "3/3" in capsys.readouterr().err


def test_packed_rows_are_the_one_image_rows_file_fields_and_errors_included(tmp_path):
    # The packed loop and ImageSweeper.run (the Ray actors' code) build rows the same way:
    # the file's path, the digest, the maps' checksum, channels converted, and error rows
    # that keep the folder's true label.
    from PIL import Image

    from occlusion_widget.dataset.resume import plan
    from occlusion_widget.dataset.sources import make_source
    from occlusion_widget.dataset.store import MemoryStore
    from occlusion_widget.dataset.sweeper import DatasetParams, ImageSweeper

    root, images = tmp_path / "d", data(4)
    for i, image in enumerate(images):
        folder = root / ("cat" if i % 2 else "dog")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i}.png")
    (root / "cat" / "broken.png").write_bytes(b"not a png")
    Image.fromarray(data(1, 16)[0]).save(root / "dog" / "big.png")
    Image.fromarray(images[0]).convert("L").save(root / "dog" / "grey.png")  # made RGB
    import pandas as pd

    ow.sweep_dataset(brightness_model(), root, store=tmp_path / "s", **PARAMS)
    table = pd.read_parquet(tmp_path / "s" / "table").set_index("id")  # every stored field
    params = DatasetParams(patch_size=4, stride=4, baseline="black")
    sweeper = ImageSweeper(brightness_model(), params)
    items = plan(MemoryStore(), make_source(root)).items
    assert len(items) == len(table) == 7
    for item in items:
        _, row = sweeper.run(item)
        got = table.loc[row["id"]]
        names = ["path", "digest", "label", "status", "error", "predicted"]
        for name in names + ["checksum"] * (row["status"] == "done"):
            assert got[name] == row[name], (row["id"], name)
    assert set(table["status"]) == {"done", "error"} and table.loc["cat/broken.png", "label"] == 0
    assert table.loc["dog/grey.png", "status"] == "done"
