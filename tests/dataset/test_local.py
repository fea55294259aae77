"""Dataset sweeps on the local backend: the table, the store, resume, faults, confusion."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.models_dataset import brightness_model, images, tiny_keras_model

pytest.importorskip("zarr")
pytest.importorskip("pyarrow")

PARAMS = {"patch_size": 4, "stride": 4, "baseline": "black", "progress": False}


def banded(n=4, size=12):
    """Images whose brightest band (and so the prediction of ``brightness_model``) is known;
    the next band is a close second, so a black patch on the brightest band hands it the win."""
    out = np.full((n, size, size, 3), 40, np.uint8)
    for i in range(n):
        band, second = i % 3, (i + 1) % 3
        out[i, band * 4 : band * 4 + 4] = 200
        out[i, second * 4 : second * 4 + 4] = 150
    return out


def test_table_matches_the_engine_image_by_image():
    model = brightness_model()
    data = banded(4)
    ds = ow.sweep_dataset(model, data, labels=[0, 1, 2, 2], **PARAMS)
    assert list(ds.table["id"]) == ["0", "1", "2", "3"]
    for i, row in ds.table.iterrows():
        single = ow.occlusion_map(model, data[i], **PARAMS)
        assert row["predicted"] == single.base_class == i % 3
        assert row["flip_fraction"] == single.flips().sum() / single.total
        drop = single.sensitivity()
        assert row["max_drop"] == pytest.approx(float(drop.max()), abs=0)
        assert drop[row["max_drop_row"], row["max_drop_col"]] == drop.max()
        winners = single.class_counts()
        assert row["winner_classes"] == list(winners)
        assert row["winner_counts"] == list(winners.values())
    assert ds.table["correct"].tolist() == [True, True, True, False]


def test_store_reopens_without_the_model(tmp_path):
    model = brightness_model()
    data = banded(3)
    ds = ow.sweep_dataset(model, data, store=tmp_path / "s", **PARAMS)
    again = ow.open_dataset(tmp_path / "s")
    assert again.table.drop(columns="seconds").equals(ds.table.drop(columns="seconds"))
    assert again.params["patch_size"] == [4, 4] and again.num_classes == 3
    single = ow.occlusion_map(model, data[1], **PARAMS)
    rebuilt = again.result("1")
    # Stored as float16: 11 significant bits, so an error below 2**-11 of values <= 1.
    np.testing.assert_allclose(rebuilt.probabilities, single.probabilities, atol=2**-11)
    np.testing.assert_array_equal(rebuilt.image, single.image)
    np.testing.assert_array_equal(rebuilt.baseline, single.baseline)
    assert (rebuilt.tops == single.tops).all() and rebuilt.base_class == single.base_class


def test_store_is_plain_zarr_and_parquet(tmp_path):
    import pandas as pd
    import zarr

    ow.sweep_dataset(brightness_model(), banded(2), store=tmp_path / "s", **PARAMS)
    table = pd.read_parquet(tmp_path / "s" / "table")
    assert sorted(table["id"]) == ["0", "1"]
    group = zarr.open_group(str(tmp_path / "s" / "maps.zarr"), mode="r")
    assert group.attrs["params"]["stride"] == [4, 4]
    assert group["probabilities"].dtype == np.float16  # images stacked on the first axis
    first = banded(2)[int(table["id"][0])]
    assert group["image"][int(table["slot"][0])].tolist() == first.tolist()


def test_resume_skips_done_images_and_a_crash_keeps_what_was_done(tmp_path):
    data = banded(5)
    calls = []
    inner = brightness_model()

    def crashing(batch):
        calls.append(len(batch))
        if len(calls) == 3:  # the third image: one call holds 9 positions + 1 at batch 10
            raise KeyboardInterrupt
        return inner(batch)

    with pytest.raises(KeyboardInterrupt):
        ow.sweep_dataset(crashing, data, store=tmp_path / "s", batch_size=10, **PARAMS)
    assert sorted(ow.open_dataset(tmp_path / "s").table["id"]) == ["0", "1"]
    calls.clear()
    counted = []

    def counting(batch):
        counted.append(len(batch))
        return inner(batch)

    ds = ow.sweep_dataset(counting, data, store=tmp_path / "s", batch_size=10, **PARAMS)
    # First the two stored images, scored to hold the model to their maps; then images 2, 3
    # and 4 only.
    assert counted[0] == 2 and len(counted) == 4
    assert sorted(ds.table["id"]) == ["0", "1", "2", "3", "4"]


def test_cancel_keeps_the_images_done():
    cancel = threading.Event()

    def progress(done, total):
        assert total == 4
        if done == 2:
            cancel.set()

    params = dict(PARAMS, progress=progress)
    ds = ow.sweep_dataset(brightness_model(), banded(4), cancel=cancel, **params)
    assert list(ds.table["id"]) == ["0", "1"]


def test_other_parameters_are_refused(tmp_path):
    ow.sweep_dataset(brightness_model(), banded(2), store=tmp_path / "s", **PARAMS)
    expected = r"other sweep parameters \(patch_size: store has \[4, 4\]"
    with pytest.raises(ValueError, match=expected):
        params = dict(PARAMS, patch_size=6)
        ow.sweep_dataset(brightness_model(), banded(2), store=tmp_path / "s", **params)


def test_a_store_refuses_a_model_with_other_weights(tmp_path):
    pytest.importorskip("keras")
    from occlusion_widget.dataset.store import open_store

    data, store = images(3), tmp_path / "s"
    kw = dict(PARAMS, store=store)
    ow.sweep_dataset(tiny_keras_model(seed=0), data[:2], **kw)
    recorded = ow.open_dataset(store).params["model"]
    assert recorded["kind"] == "keras" and len(recorded["weights"]) == 32
    with pytest.raises(ValueError, match=r"written by another model: .* weights differ"):
        ow.sweep_dataset(tiny_keras_model(seed=1), data, **kw)
    assert len(ow.open_dataset(store).table) == 2  # nothing was added
    # The same weights in a new model object (another name) resume the store.
    ds = ow.sweep_dataset(tiny_keras_model(seed=0), data, **kw)
    assert len(ds.table) == 3
    # A store written before the model was recorded: the model's answers on stored images
    # tell (it resumed with any model before, and mixed two models' maps).
    st = open_store(store)
    params = {k: v for k, v in st.meta()["params"].items() if k != "model"}
    st.write_meta({"params": params})
    (store / "claims" / "_params.json").unlink()  # as written before parameters were settled
    with pytest.raises(ValueError, match=r"does not answer as the stored maps do"):
        ow.sweep_dataset(tiny_keras_model(seed=1), images(4), **kw)
    ds = ow.sweep_dataset(tiny_keras_model(seed=0), images(4), **kw)
    assert len(ds.table) == 4


def test_a_store_refuses_another_model_behind_a_wrapper_or_a_file(tmp_path):
    # A wrapper is known by name only, and a model given once as an object and once as a
    # .keras file has no digest to compare: both resumed with any model and mixed two
    # models' maps in one store. Their answers on stored images tell them apart.
    pytest.importorskip("keras")
    data, store = images(4), tmp_path / "s"
    kw = dict(PARAMS, store=store)
    first, other = tiny_keras_model(seed=0), tiny_keras_model(seed=1)
    ow.sweep_dataset(lambda b: np.asarray(first(b)), data[:2], **kw)
    with pytest.raises(ValueError, match=r"does not answer as the stored maps do"):
        ow.sweep_dataset(lambda b: np.asarray(other(b)), data, **kw)
    other.save(tmp_path / "other.keras")
    with pytest.raises(ValueError, match=r"does not answer as the stored maps do"):
        ow.sweep_dataset(tmp_path / "other.keras", data, **kw)
    with pytest.raises(ValueError, match=r"model= gives a model that does not answer"):
        ow.open_dataset(store, model=lambda b: np.asarray(other(b)))
    assert len(ow.open_dataset(store).table) == 2  # nothing was added
    first.save(tmp_path / "first.keras")
    ds = ow.sweep_dataset(tmp_path / "first.keras", data, **kw)  # the same model, as a file
    assert len(ds.table) == 4


def test_bad_images_are_recorded_never_fatal(tmp_path, capsys):
    from PIL import Image

    root = tmp_path / "data"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
    good = banded(2)
    Image.fromarray(good[0]).save(root / "cat" / "a.png")
    Image.fromarray(good[1]).save(root / "dog" / "b.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "dog" / "small.png")
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG not really")
    (root / "cat" / "notes.txt").write_text("not an image")
    ds = ow.sweep_dataset(brightness_model(), root, **dict(PARAMS, progress=True))
    table = ds.table.set_index("id")
    assert table.loc["cat/a.png", "label"] == 0 and table.loc["dog/b.png", "label"] == 1
    assert (table["status"] == "done").sum() == 2
    errors = ds.errors.set_index("id")["error"]
    assert sorted(errors.index) == ["cat/notes.txt", "dog/broken.png", "dog/small.png"]
    assert "not an image file" in errors["dog/broken.png"]
    assert "image is 8x8x3 but the dataset is 12x12x3" in errors["dog/small.png"]
    assert "resize=(12, 12)" in errors["dog/small.png"]
    assert "3 image(s) skipped" in capsys.readouterr().err
    assert ds.folder_classes == ["cat", "dog"]
    resized = ow.sweep_dataset(brightness_model(), root, resize=12, **PARAMS)
    assert (resized.table["status"] == "done").sum() == 3


def test_empty_datasets_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        ow.sweep_dataset(brightness_model(), [], **PARAMS)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match="empty"):
        ow.sweep_dataset(brightness_model(), tmp_path / "nothing", **PARAMS)
    with pytest.raises(ValueError, match="empty"):
        ow.sweep_dataset(brightness_model(), iter([]), **PARAMS)


def test_a_broken_model_raises_once_not_per_image():
    def broken(batch):
        raise RuntimeError("weights missing")

    with pytest.raises(ow.ModelError, match="weights missing"):
        ow.sweep_dataset(broken, banded(3), **PARAMS)


def test_pairs_generators_and_tf_datasets_give_labels():
    data = banded(3)
    pairs = ow.sweep_dataset(brightness_model(), zip(data, [2, 1, 0], strict=True), **PARAMS)
    assert pairs.table["label"].tolist() == [2, 1, 0]
    tf = pytest.importorskip("tensorflow")
    batched = tf.data.Dataset.from_tensor_slices((data, np.eye(3)[[0, 1, 2]])).batch(2)
    ds = ow.sweep_dataset(brightness_model(), batched, **PARAMS)
    assert ds.table["label"].tolist() == [0, 1, 2]
    assert ds.table["predicted"].tolist() == [0, 1, 2]


def test_top_k_store_keeps_the_largest_classes(tmp_path):
    model = brightness_model(num_classes=6)
    data = images(2, size=12)
    ds = ow.sweep_dataset(model, data, store=tmp_path / "s", top_k=2, **PARAMS)
    assert ds.kept_classes == 2
    single = ow.occlusion_map(model, data[0], **PARAMS)
    rebuilt = ds.result(0)
    assert (rebuilt.predicted_classes() == single.predicted_classes()).all()
    top2 = np.sort(single.probabilities, axis=2)[:, :, -2:]
    # float16 storage: see test_store_reopens_without_the_model.
    np.testing.assert_allclose(np.sort(rebuilt.probabilities, 2)[:, :, -2:], top2, atol=2**-11)
    assert (np.sort(rebuilt.probabilities, 2)[:, :, :-2] == 0).all()


def test_confusion_counts_the_classes_that_steal_the_prediction():
    ds = ow.sweep_dataset(brightness_model(), banded(6), labels=[0, 1, 2, 0, 1, 2], **PARAMS)
    conf = ds.confusion(labels=["top", "middle", "bottom"])
    # Hiding part of the bright band of a class-0 image hands the win to another band.
    for group in (0, 1, 2):
        rows = conf[conf["group"] == group]
        assert set(rows["winner"]) == {(group + 1) % 3}  # the close second, flips only
        table = ds.table[ds.table["label"] == group]
        flipped = (table["flip_fraction"] * table["positions"]).sum()
        assert rows["positions"].sum() == round(flipped)
        assert rows["group_images"].iloc[0] == 2
    assert set(conf["group_name"]) == {"top", "middle", "bottom"}
    every = ds.confusion(flips_only=False)
    assert np.allclose(every.groupby("group")["fraction"].sum(), 1.0)
    fig = ds.plot_confusion(labels=["top", "middle", "bottom"])
    assert fig.axes[0].get_title().startswith("Confusion under occlusion")


def test_fsspec_url_store():
    url = "memory://ow-test/sweep"
    ow.sweep_dataset(brightness_model(), banded(2), store=url, **PARAMS)
    assert sorted(ow.open_dataset(url).table["id"]) == ["0", "1"]


def test_ray_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'occlusion_widget\[ray\]'"):
        ow.sweep_dataset(brightness_model(), banded(2), backend="ray", **PARAMS)
